# ruff: noqa: E501 - legal texts in Chinese: a line is measured in display width, twice the characters
"""The demo service catalog: business domains and lines, life events, twelve items and two bundles.

``demo_services_load`` is idempotent: a service that does not exist is created and published; one whose
current version differs from the data gets a new draft that is updated and published (so the previous
version, which applications may use, stays as it was); one that matches is left alone. Services go through
the catalog actions (audited, as the system); domains, lines and life events are reference data without
actions, written through the models and summed up in one ``demo.services_loaded`` audit record.

The legal bases quote the articles that set each item's conditions and time limits. The time limits are
in working days (Administrative Licensing Law Art. 82).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from onewindow.accounts.models import User
from onewindow.audit.actions import audit_append
from onewindow.services import actions
from onewindow.services.models import (
    BundleComponent,
    BusinessDomain,
    BusinessLine,
    LifeEvent,
    Service,
    ServiceKind,
    VersionStatus,
)

SCHEMA = "https://json-schema.org/draft/2020-12/schema"
FREE = "不收费"
FREE_EN = "Free of charge"


# --- Form helpers -----------------------------------------------------------------------------------------


def _string(title: str, title_en: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "title": title, "x-title-en": title_en, "minLength": 1, **extra}


def _choice(title: str, title_en: str, labels: dict[str, tuple[str, str]], **extra: Any) -> dict[str, Any]:
    return {
        "type": "string",
        "title": title,
        "x-title-en": title_en,
        "enum": list(labels),
        "x-enum-labels": {value: {"zh": zh, "en": en} for value, (zh, en) in labels.items()},
        "x-widget": "radios",
        **extra,
    }


def _form(
    required: dict[str, dict[str, Any]], optional: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    properties = {**required, **(optional or {})}
    return {
        "$schema": SCHEMA,
        "type": "object",
        "properties": properties,
        "required": list(required),
        "x-order": list(properties),
        "additionalProperties": False,
    }


def _material(
    code: str, name: str, name_en: str, *, shared_resource: str = "", required: bool = True, copies: int = 1
) -> dict[str, Any]:
    material: dict[str, Any] = {"code": code, "name": name, "name_en": name_en, "required": required}
    if copies != 1:
        material["copies"] = copies
    if shared_resource:
        material["shared_resource"] = shared_resource
    return material


SEX = {"male": ("男", "Male"), "female": ("女", "Female")}
COMPANY_TYPES = {
    "llc": ("有限责任公司", "Limited liability company"),
    "sole": ("个人独资企业", "Sole proprietorship"),
    "partnership": ("合伙企业", "Partnership"),
}

# Shared fields: the same name means the same thing (and type) in every form, so bundles merge cleanly.
F_COMPANY_NAME = _string("企业名称", "Company name", maxLength=100)
F_CREDIT_CODE = _string("统一社会信用代码", "Unified social credit code", format="credit-code")
F_PERSON_NAME = _string("姓名", "Name", maxLength=50, **{"x-prefill": "person.name"})
F_PERSON_ID = _string("公民身份号码", "ID number", format="id-number", **{"x-prefill": "person.id_number"})
F_MOBILE = _string("手机号码", "Mobile number", format="mobile", **{"x-prefill": "applicant.mobile"})
F_DIVISION = _string("所在行政区划代码", "Division code", format="division-code")
F_ADDRESS = _string("地址", "Address", maxLength=200)
F_BABY_NAME = _string("新生儿姓名", "Baby's name", maxLength=50)
F_BABY_SEX = _choice("新生儿性别", "Baby's sex", SEX)
F_BIRTH_DATE = _string("出生日期", "Date of birth", format="date", **{"x-widget": "date"})
F_MOTHER_NAME = _string("母亲姓名", "Mother's name", maxLength=50)
F_MOTHER_ID = _string("母亲公民身份号码", "Mother's ID number", format="id-number")
F_FATHER_NAME = _string("父亲姓名", "Father's name", maxLength=50)
F_FATHER_ID = _string("父亲公民身份号码", "Father's ID number", format="id-number")

M_ID_CARD = _material("id_card", "居民身份证", "Resident identity card", shared_resource="population.id_card")
M_HOUSEHOLD = _material(
    "household_register", "居民户口簿", "Household register", shared_resource="population.household"
)
M_BIRTH_CERT = _material(
    "birth_certificate",
    "出生医学证明",
    "Birth medical certificate",
    shared_resource="health.birth_certificate",
)
M_MARRIAGE_CERT = _material(
    "marriage_certificate", "结婚证", "Marriage certificate", shared_resource="civil.marriage", required=False
)
M_LICENCE = _material(
    "business_licence", "营业执照", "Business licence", shared_resource="amr.business_licence"
)
M_PHOTO = _material("photo", "近期一寸免冠照片", "Recent passport-size photo", copies=2)


# --- Reference data ---------------------------------------------------------------------------------------

DOMAINS: tuple[tuple[str, str, str], ...] = (
    ("MARKET", "市场准入", "Market access"),
    ("TAXATION", "税收征管", "Taxation"),
    ("SOCIAL", "社会保障", "Social security"),
    ("POPULATION", "人口服务", "Population services"),
    ("HEALTH", "卫生健康", "Health"),
    ("SAFETY", "质量安全", "Quality and safety"),
)

# (code, domain, name, name_en)
LINES: tuple[tuple[str, str, str, str], ...] = (
    ("MKT-REG", "MARKET", "市场主体登记", "Registration of market entities"),
    ("MKT-SEAL", "MARKET", "印章管理", "Seals"),
    ("TAX-REG", "TAXATION", "税务登记与发票", "Tax registration and invoices"),
    ("TAX-IIT", "TAXATION", "个人所得税", "Individual income tax"),
    ("SOC-INS", "SOCIAL", "社会保险", "Social insurance"),
    ("SOC-EMP", "SOCIAL", "就业服务", "Employment services"),
    ("POP-HH", "POPULATION", "户籍与居住", "Household registration and residence"),
    ("POP-CIVIL", "POPULATION", "婚姻登记", "Marriage registration"),
    ("HLT-MCH", "HEALTH", "妇幼健康", "Maternal and child health"),
    ("SAF-EQ", "SAFETY", "特种设备", "Special equipment"),
)

# (code, name, name_en, audience, order)
LIFE_EVENTS: tuple[tuple[str, str, str, str, int], ...] = (
    ("OPEN-BUSINESS", "企业开办", "Opening a business", "enterprise", 10),
    ("BIRTH", "出生", "Birth of a child", "resident", 20),
    ("MOVE", "迁居与户口", "Moving house and household registration", "resident", 30),
    ("EMPLOYMENT", "就业", "Work and unemployment", "resident", 40),
    ("SOCIAL-INSURANCE", "社保", "Social insurance", "resident", 50),
    ("MARRIAGE", "婚姻", "Marriage", "resident", 60),
    ("OPERATION", "企业经营", "Running a business", "enterprise", 70),
)


@dataclass(frozen=True)
class DemoService:
    code: str
    kind: str
    department_code: str
    business_line_code: str | None
    life_event_codes: tuple[str, ...]
    fields: dict[str, Any]
    components: tuple[str, ...] = field(default_factory=tuple)


def _item(
    code: str,
    department_code: str,
    line: str,
    events: tuple[str, ...],
    **fields: Any,
) -> DemoService:
    defaults: dict[str, Any] = {
        "fee": FREE,
        "fee_en": FREE_EN,
        "channels": ["web", "api", "window", "agent"],
        "stage": "transactional",
        "case_type": "2",
        "on_site_trips": 0,
        "process_key": code,
    }
    return DemoService(code, ServiceKind.ITEM, department_code, line, events, {**defaults, **fields})


ITEMS: tuple[DemoService, ...] = (
    _item(
        "AMR-GSSL",
        "AMR",
        "MKT-REG",
        ("OPEN-BUSINESS",),
        name="公司设立登记",
        name_en="Company registration",
        summary="设立有限责任公司、个人独资企业或合伙企业，申请市场主体设立登记，领取营业执照（含电子营业执照）。",
        summary_en="Register a new company, sole proprietorship or partnership and receive its business "
        "licence (also as an electronic licence).",
        category="licensing",
        legal_basis="《中华人民共和国市场主体登记管理条例》第三条：市场主体应当依照本条例办理登记。未经登记，不得以市场主体"
        "名义从事经营活动。第十九条：登记机关应当对申请材料进行形式审查。对申请材料齐全、符合法定形式的予以确认并"
        "当场登记。不能当场登记的，应当在3个工作日内予以登记。",
        audience=["enterprise", "resident"],
        materials=[
            _material("registration_form", "公司登记（备案）申请书", "Company registration application"),
            _material("articles", "公司章程", "Articles of association"),
            M_ID_CARD,
            _material("address_proof", "住所（经营场所）使用证明", "Proof of the right to use the premises"),
        ],
        statutory_days=3,
        promised_days=1,
        form_schema=_form(
            {
                "company_name": F_COMPANY_NAME,
                "company_type": _choice("企业类型", "Company type", COMPANY_TYPES),
                "registered_capital": {
                    "type": "number",
                    "title": "注册资本（万元）",
                    "x-title-en": "Registered capital (10,000 yuan)",
                    "exclusiveMinimum": 0,
                },
                "division_code": F_DIVISION,
                "address": F_ADDRESS,
                "business_scope": _string("经营范围", "Business scope", **{"x-widget": "textarea"}),
                "legal_rep_name": F_PERSON_NAME,
                "legal_rep_id_number": F_PERSON_ID,
            }
        ),
    ),
    _item(
        "PSB-YZKZ",
        "PSB",
        "MKT-SEAL",
        ("OPEN-BUSINESS",),
        name="印章刻制备案",
        name_en="Record of seal engraving",
        summary="新设立企业刻制公章、财务专用章、发票专用章等，由刻章企业向公安机关备案。",
        summary_en="A new enterprise has its official, finance and invoice seals engraved; the engraver "
        "records them with public security.",
        category="other_power",
        legal_basis="《国务院关于第三批取消中央指定地方实施行政许可事项的决定》（国发〔2017〕7号）：取消“公章刻制审批”，"
        "改为备案管理；公安机关要建立备案管理系统，要求公章刻制企业在刻制公章后，将用章单位、公章刻制申请人、印模"
        "等基本信息报公安机关备案。",
        audience=["enterprise"],
        materials=[M_LICENCE, M_ID_CARD, _material("seal_list", "刻制印章清单", "List of seals to engrave")],
        statutory_days=1,
        promised_days=1,
        case_type="1",
        form_schema=_form(
            {
                "company_name": F_COMPANY_NAME,
                "seal_count": {
                    "type": "integer",
                    "title": "刻制印章数量",
                    "x-title-en": "Number of seals",
                    "minimum": 1,
                    "maximum": 10,
                },
            }
        ),
    ),
    _item(
        "TAX-XBNS",
        "TAX",
        "TAX-REG",
        ("OPEN-BUSINESS",),
        name="新办纳税人涉税事项",
        name_en="Tax matters of a new taxpayer",
        summary="新办企业完成税务信息确认、税种认定、发票票种核定和税控设备发放（或数电发票开通）。",
        summary_en="A new enterprise confirms its tax information, tax types and invoice types, and is set "
        "up for (digital) invoices.",
        category="confirmation",
        legal_basis="《中华人民共和国税收征收管理法》第十五条：企业，企业在外地设立的分支机构和从事生产、经营的场所，"
        "个体工商户和从事生产、经营的事业单位，自领取营业执照之日起三十日内，持有关证件，向税务机关申报办理税务登记。"
        "税务机关应当于收到申报的当日办理登记并发给税务登记证件。",
        audience=["enterprise"],
        materials=[M_LICENCE, M_ID_CARD],
        statutory_days=1,
        promised_days=1,
        case_type="1",
        form_schema=_form(
            {"company_name": F_COMPANY_NAME},
            {
                "need_invoice": {
                    "type": "boolean",
                    "title": "需要开具发票",
                    "x-title-en": "Needs to issue invoices",
                    "x-widget": "checkbox",
                }
            },
        ),
    ),
    _item(
        "HRSS-SBDJ",
        "HRSS",
        "SOC-INS",
        ("OPEN-BUSINESS",),
        name="社会保险登记（单位）",
        name_en="Social insurance registration of an employer",
        summary="用人单位办理社会保险登记，为职工参加养老、医疗、工伤、失业和生育保险。",
        summary_en="An employer registers for social insurance so its employees are covered.",
        category="confirmation",
        legal_basis="《中华人民共和国社会保险法》第五十七条：用人单位应当自成立之日起三十日内凭营业执照、登记证书或者单位"
        "印章，向当地社会保险经办机构申请办理社会保险登记。社会保险经办机构应当自收到申请之日起十五日内予以审核，"
        "发给社会保险登记证件。",
        audience=["enterprise"],
        materials=[M_LICENCE],
        statutory_days=15,
        promised_days=1,
        form_schema=_form(
            {
                "company_name": F_COMPANY_NAME,
                "employees": {
                    "type": "integer",
                    "title": "职工人数",
                    "x-title-en": "Number of employees",
                    "minimum": 0,
                },
            }
        ),
    ),
    _item(
        "HEALTH-CSYXZM",
        "HEALTH",
        "HLT-MCH",
        ("BIRTH",),
        name="出生医学证明签发",
        name_en="Birth medical certificate",
        summary="在医疗机构出生的新生儿，由助产机构签发《出生医学证明》。",
        summary_en="The maternity hospital issues the birth medical certificate of a baby born there.",
        category="confirmation",
        legal_basis="《中华人民共和国母婴保健法》第二十三条：医疗保健机构和从事家庭接生的人员按照国务院卫生行政部门的规定，"
        "出具统一制发的新生儿出生医学证明；有产妇和婴儿死亡以及新生儿出生缺陷情况的，应当向卫生行政部门报告。",
        audience=["resident"],
        materials=[M_ID_CARD, M_MARRIAGE_CERT],
        statutory_days=5,
        promised_days=1,
        form_schema=_form(
            {
                "baby_name": F_BABY_NAME,
                "baby_sex": F_BABY_SEX,
                "baby_birth_date": F_BIRTH_DATE,
                "hospital": _string("出生医院", "Hospital of birth", maxLength=100),
                "mother_name": F_MOTHER_NAME,
                "mother_id_number": F_MOTHER_ID,
            },
            {"father_name": F_FATHER_NAME, "father_id_number": F_FATHER_ID},
        ),
    ),
    _item(
        "PSB-CSDJ",
        "PSB",
        "POP-HH",
        ("BIRTH", "MOVE"),
        name="出生登记（户口）",
        name_en="Household registration of a newborn",
        summary="为新生儿申报出生登记，在父亲或母亲的户口所在地落户。",
        summary_en="Register a newborn's birth and household registration with a parent's household.",
        category="confirmation",
        legal_basis="《中华人民共和国户口登记条例》第七条：婴儿出生后一个月以内，由户主、亲属、抚养人或者邻居向婴儿常住地"
        "户口登记机关申报出生登记。",
        audience=["resident"],
        materials=[M_BIRTH_CERT, M_HOUSEHOLD, M_ID_CARD, M_MARRIAGE_CERT],
        statutory_days=20,
        promised_days=5,
        form_schema=_form(
            {
                "baby_name": F_BABY_NAME,
                "baby_sex": F_BABY_SEX,
                "baby_birth_date": F_BIRTH_DATE,
                "mother_name": F_MOTHER_NAME,
                "mother_id_number": F_MOTHER_ID,
                "household_parent": _choice(
                    "随父或随母落户",
                    "Register with",
                    {"father": ("随父", "Father"), "mother": ("随母", "Mother")},
                ),
            },
            {"father_name": F_FATHER_NAME, "father_id_number": F_FATHER_ID},
        ),
    ),
    _item(
        "HRSS-JMYB",
        "HRSS",
        "SOC-INS",
        ("BIRTH", "SOCIAL-INSURANCE"),
        name="城乡居民基本医疗保险参保登记",
        name_en="Enrolment in basic medical insurance for urban and rural residents",
        summary="未参加职工医保的城乡居民（含新生儿）办理居民医保参保登记。",
        summary_en="Residents without employee medical insurance (including newborns) enrol in residents' "
        "medical insurance.",
        category="public_service",
        legal_basis="《中华人民共和国社会保险法》第二十五条：国家建立和完善城镇居民基本医疗保险制度。城镇居民基本医疗保险"
        "实行个人缴费和政府补贴相结合。享受最低生活保障的人、丧失劳动能力的残疾人、低收入家庭六十周岁以上的老年人和"
        "未成年人等所需个人缴费部分，由政府给予补贴。",
        audience=["resident"],
        materials=[M_HOUSEHOLD, M_ID_CARD],
        statutory_days=10,
        promised_days=3,
        fee="按当年度城乡居民医保个人缴费标准缴纳",
        fee_en="The residents' medical insurance contribution of the year",
        form_schema=_form(
            {
                "baby_name": _string("参保人姓名", "Insured person's name", maxLength=50),
                "baby_birth_date": F_BIRTH_DATE,
                "division_code": F_DIVISION,
            }
        ),
    ),
    _item(
        "CIVIL-HYDJ",
        "CIVIL",
        "POP-CIVIL",
        ("MARRIAGE",),
        name="结婚登记（预约）",
        name_en="Marriage registration (appointment)",
        summary="预约结婚登记的日期和登记处；双方须亲自到婚姻登记机关办理。",
        summary_en="Book a date and office for registering a marriage; both partners then attend in person.",
        category="confirmation",
        legal_basis="《婚姻登记条例》第四条：内地居民结婚，男女双方应当共同到一方当事人常住户口所在地的婚姻登记机关办理"
        "结婚登记。第七条：婚姻登记机关应当对结婚登记当事人出具的证件、证明材料进行审查并询问相关情况。对当事人符合"
        "结婚条件的，应当当场予以登记，发给结婚证。",
        audience=["resident"],
        materials=[M_HOUSEHOLD, M_ID_CARD, M_PHOTO],
        statutory_days=1,
        promised_days=1,
        case_type="1",
        on_site_trips=1,
        stage="interactive",
        channels=["web", "api", "window"],
        form_schema=_form(
            {
                "partner_name": _string("对方姓名", "Partner's name", maxLength=50),
                "partner_id_number": _string("对方公民身份号码", "Partner's ID number", format="id-number"),
                "appointment_date": _string(
                    "预约日期", "Appointment date", format="date", **{"x-widget": "date"}
                ),
            }
        ),
    ),
    _item(
        "QI-TZSB",
        "QI",
        "SAF-EQ",
        ("OPERATION",),
        name="特种设备使用登记",
        name_en="Registration of special equipment in use",
        summary="锅炉、压力容器、电梯、起重机械等特种设备投入使用前或者投入使用后三十日内办理使用登记。",
        summary_en="Register boilers, pressure vessels, lifts, cranes and other special equipment before or "
        "within thirty days of putting them into use.",
        category="licensing",
        legal_basis="《中华人民共和国特种设备安全法》第三十三条：特种设备使用单位应当在特种设备投入使用前或者投入使用后"
        "三十日内，向负责特种设备安全监督管理的部门办理使用登记，取得使用登记证书。登记标志应当置于该特种设备的显著"
        "位置。",
        audience=["enterprise"],
        materials=[
            M_LICENCE,
            _material("equipment_certificate", "产品合格证", "Certificate of conformity"),
            _material("inspection_report", "监督检验证明", "Supervisory inspection certificate"),
        ],
        statutory_days=15,
        promised_days=5,
        form_schema=_form(
            {
                "company_name": F_COMPANY_NAME,
                "credit_code": F_CREDIT_CODE,
                "equipment_type": _choice(
                    "设备类别",
                    "Equipment type",
                    {
                        "boiler": ("锅炉", "Boiler"),
                        "pressure_vessel": ("压力容器", "Pressure vessel"),
                        "lift": ("电梯", "Lift"),
                        "crane": ("起重机械", "Crane"),
                    },
                ),
                "equipment_code": _string("设备代码", "Equipment code", maxLength=40),
                "address": F_ADDRESS,
            }
        ),
    ),
    _item(
        "PSB-JZZ",
        "PSB",
        "POP-HH",
        ("MOVE",),
        name="居住证申领",
        name_en="Residence permit",
        summary="离开常住户口所在地，到其他城市居住半年以上、符合条件的公民，申领居住证。",
        summary_en="Citizens living in a city away from their household registration for six months or more "
        "apply for a residence permit.",
        category="confirmation",
        legal_basis="《居住证暂行条例》第二条：公民离开常住户口所在地，到其他城市居住半年以上，符合有合法稳定就业、"
        "合法稳定住所、连续就读条件之一的，可以依照本条例的规定申领居住证。第十条：公安机关应当自受理之日起15日内"
        "制作发放居住证。",
        audience=["resident"],
        materials=[
            M_ID_CARD,
            _material("residence_proof", "居住证明（租赁合同或房屋产权证明）", "Proof of residence"),
            M_PHOTO,
        ],
        statutory_days=15,
        promised_days=10,
        on_site_trips=1,
        form_schema=_form(
            {
                "applicant_name": F_PERSON_NAME,
                "applicant_id_number": F_PERSON_ID,
                "division_code": F_DIVISION,
                "address": F_ADDRESS,
                "residence_basis": _choice(
                    "申领条件",
                    "Basis",
                    {
                        "employment": ("合法稳定就业", "Stable employment"),
                        "housing": ("合法稳定住所", "Stable housing"),
                        "study": ("连续就读", "Continuous study"),
                    },
                ),
            }
        ),
    ),
    _item(
        "HRSS-SYDJ",
        "HRSS",
        "SOC-EMP",
        ("EMPLOYMENT",),
        name="失业登记",
        name_en="Unemployment registration",
        summary="在法定劳动年龄内、有劳动能力和就业要求、处于无业状态的城乡劳动者办理失业登记，享受公共就业服务。",
        summary_en="People of working age who can and want to work but have no job register as unemployed "
        "to receive public employment services.",
        category="public_service",
        legal_basis="《中华人民共和国社会保险法》第五十条：失业人员应当持本单位为其出具的终止或者解除劳动关系的证明，及时"
        "到指定的公共就业服务机构办理失业登记。《就业服务与就业管理规定》第六十一条：劳动者失业后，可以持本人身份证件"
        "和有关证明材料到常住地公共就业服务机构进行失业登记。",
        audience=["resident"],
        materials=[
            M_ID_CARD,
            _material(
                "termination_proof",
                "终止或解除劳动关系证明",
                "Proof of the end of employment",
                required=False,
            ),
        ],
        statutory_days=5,
        promised_days=1,
        form_schema=_form(
            {
                "applicant_name": F_PERSON_NAME,
                "applicant_id_number": F_PERSON_ID,
                "mobile": F_MOBILE,
                "last_employer": _string("原工作单位", "Last employer", maxLength=100),
            }
        ),
    ),
    _item(
        "TAX-ZXFJKC",
        "TAX",
        "TAX-IIT",
        ("EMPLOYMENT", "BIRTH"),
        name="个人所得税专项附加扣除信息报送",
        name_en="Special additional deductions of individual income tax",
        summary="纳税人报送子女教育、3岁以下婴幼儿照护、继续教育、大病医疗、住房贷款利息或者住房租金、赡养老人等专项"
        "附加扣除信息。",
        summary_en="Taxpayers report children's education, care of infants under three, further education, "
        "serious illness, mortgage interest or rent, and care of elderly parents for deduction.",
        category="confirmation",
        legal_basis="《中华人民共和国个人所得税法》第六条：专项附加扣除，包括子女教育、继续教育、大病医疗、住房贷款利息或者"
        "住房租金、赡养老人等支出，具体范围、标准和实施步骤由国务院确定，并报全国人民代表大会常务委员会备案。"
        "《个人所得税专项附加扣除暂行办法》（国发〔2018〕41号）。",
        audience=["resident"],
        materials=[M_ID_CARD],
        statutory_days=1,
        promised_days=1,
        case_type="1",
        stage="seamless",
        channels=["web", "api", "window"],
        form_schema=_form(
            {
                "applicant_name": F_PERSON_NAME,
                "applicant_id_number": F_PERSON_ID,
                "deduction": _choice(
                    "扣除项目",
                    "Deduction",
                    {
                        "children_education": ("子女教育", "Children's education"),
                        "infant_care": ("3岁以下婴幼儿照护", "Care of infants under three"),
                        "further_education": ("继续教育", "Further education"),
                        "housing_rent": ("住房租金", "Rent"),
                        "elderly_care": ("赡养老人", "Care of elderly parents"),
                    },
                ),
            }
        ),
    ),
)

# The form QYKB asks once for all four components (an administrator-designed merged form).
QYKB_FORM = _form(
    {
        "company_name": F_COMPANY_NAME,
        "company_type": _choice("企业类型", "Company type", COMPANY_TYPES),
        "registered_capital": {
            "type": "number",
            "title": "注册资本（万元）",
            "x-title-en": "Registered capital (10,000 yuan)",
            "description": "单位：万元",
            "x-description-en": "In units of 10,000 yuan",
            "exclusiveMinimum": 0,
        },
        "division_code": F_DIVISION,
        "address": _string("住所", "Registered address", maxLength=200),
        "business_scope": _string("经营范围", "Business scope", **{"x-widget": "textarea"}),
        "legal_rep_name": _string(
            "法定代表人姓名", "Legal representative's name", maxLength=50, **{"x-prefill": "person.name"}
        ),
        "legal_rep_id_number": _string(
            "法定代表人公民身份号码",
            "Legal representative's ID number",
            format="id-number",
            **{"x-prefill": "person.id_number"},
        ),
        "legal_rep_mobile": _string(
            "法定代表人手机号码",
            "Legal representative's mobile number",
            format="mobile",
            **{"x-prefill": "applicant.mobile"},
        ),
        "employees": {
            "type": "integer",
            "title": "职工人数",
            "x-title-en": "Number of employees",
            "minimum": 0,
        },
    },
    {
        "need_invoice": {
            "type": "boolean",
            "title": "需要开具发票",
            "x-title-en": "Needs to issue invoices",
            "x-widget": "checkbox",
        }
    },
)

BUNDLES: tuple[DemoService, ...] = (
    DemoService(
        "QYKB",
        ServiceKind.BUNDLE,
        "AMR",
        "MKT-REG",
        ("OPEN-BUSINESS",),
        {
            "name": "企业开办",
            "name_en": "Open a company",
            "summary": "一次申请、一张表单，同时办理公司设立登记、印章刻制备案、新办纳税人涉税事项和社会保险登记，"
            "3个工作日内办结。",
            "summary_en": "One application and one form for company registration, seal engraving, tax "
            "registration and invoices, and social-insurance registration, done within 3 working days.",
            "category": "public_service",
            "legal_basis": "《优化营商环境条例》（国务院令第722号）第十九条：国家持续放宽市场准入，并实行全国统一的市场"
            "准入负面清单制度……各地区、各部门应当……压减企业开办时间，推动企业开办“一网通办”。",
            "audience": ["enterprise", "resident"],
            "statutory_days": 20,
            "promised_days": 3,
            "fee": FREE,
            "fee_en": FREE_EN,
            "on_site_trips": 0,
            "stage": "seamless",
            "channels": ["web", "api", "window", "agent"],
            "case_type": "2",
            "auto_accept": True,
            "form_schema": QYKB_FORM,
            "process_key": "QYKB",
        },
        ("AMR-GSSL", "PSB-YZKZ", "TAX-XBNS", "HRSS-SBDJ"),
    ),
    DemoService(
        "XSECS",
        ServiceKind.BUNDLE,
        "HEALTH",
        "HLT-MCH",
        ("BIRTH",),
        {
            "name": "新生儿出生一件事",
            "name_en": "Birth of a child",
            "summary": "一次申请，同时办理出生医学证明、出生登记（户口）和新生儿城乡居民医保参保登记。",
            "summary_en": "One application for the birth medical certificate, the newborn's household "
            "registration and medical insurance.",
            "category": "public_service",
            "legal_basis": "《国务院关于进一步优化政务服务提升行政效能推动“高效办成一件事”的指导意见》（国发〔2024〕3号）："
            "将新生儿出生等多个相关联的“单项事”整合为企业和群众视角的“一件事”，实现“一次告知、一表申请、一套材料、"
            "一窗（端）受理、一网办理”。",
            "audience": ["resident"],
            "statutory_days": 20,
            "promised_days": 5,
            "fee": FREE,
            "fee_en": FREE_EN,
            "on_site_trips": 0,
            "stage": "seamless",
            "channels": ["web", "api", "window", "agent"],
            "case_type": "2",
            "auto_accept": False,
            "process_key": "XSECS",
        },
        ("HEALTH-CSYXZM", "PSB-CSDJ", "HRSS-JMYB"),
    ),
)


# --- Loading ----------------------------------------------------------------------------------------------


def _load_reference_data() -> int:
    changed = 0
    for code, name, name_en in DOMAINS:
        _, created = BusinessDomain.objects.get_or_create(
            code=code, defaults={"name": name, "name_en": name_en}
        )
        changed += BusinessDomain.objects.filter(code=code).exclude(name=name, name_en=name_en).update(
            name=name, name_en=name_en
        ) + int(created)
    domains = {domain.code: domain for domain in BusinessDomain.objects.all()}
    for code, domain_code, name, name_en in LINES:
        values = {"domain": domains[domain_code], "name": name, "name_en": name_en}
        line, created = BusinessLine.objects.get_or_create(code=code, defaults=values)
        if not created and (line.domain_id, line.name, line.name_en) != (
            domains[domain_code].pk,
            name,
            name_en,
        ):
            BusinessLine.objects.filter(pk=line.pk).update(**values)
            changed += 1
        changed += int(created)
    for code, name, name_en, audience, order in LIFE_EVENTS:
        values = {"name": name, "name_en": name_en, "audience": audience, "order": order}
        event, created = LifeEvent.objects.get_or_create(code=code, defaults=values)
        if not created and any(getattr(event, key) != value for key, value in values.items()):
            LifeEvent.objects.filter(pk=event.pk).update(**values)
            changed += 1
        changed += int(created)
    return changed


def _is_current(service: Service, item: DemoService) -> bool:
    version = service.current_version
    if version is None:
        return False
    if any(getattr(version, key) != value for key, value in item.fields.items()):
        return False
    if item.kind == ServiceKind.BUNDLE:
        links = list(
            BundleComponent.objects.filter(bundle_version=version).select_related("item_version__service")
        )
        return [link.item_version.service.code for link in links] == list(item.components) and all(
            link.item_version_id == link.item_version.service.current_version_id for link in links
        )
    return True


def _load_service(item: DemoService, acting_user: User | None) -> bool:
    service = Service.objects.select_related("department", "current_version").filter(code=item.code).first()
    if service is not None and _is_current(service, item):
        return False
    if service is None:
        draft = actions.service_create(
            acting_user=acting_user,
            code=item.code,
            kind=item.kind,
            department_code=item.department_code,
            business_line_code=item.business_line_code,
            life_event_codes=item.life_event_codes,
            **item.fields,
        )
    else:
        draft = service.versions.filter(status=VersionStatus.DRAFT).first() or actions.service_version_draft(
            acting_user=acting_user, service=service
        )
        draft = actions.service_version_update(acting_user=acting_user, version=draft, **item.fields)
    if item.components:
        draft = actions.bundle_components_set(
            acting_user=acting_user, version=draft, item_codes=item.components
        )
    actions.service_version_publish(acting_user=acting_user, version=draft)
    return True


def demo_services_load(*, acting_user: User | None = None) -> int:
    """Load the demo catalog (idempotent); returns how many objects it created or changed."""
    with transaction.atomic():
        changed = _load_reference_data()
        for item in (*ITEMS, *BUNDLES):
            changed += int(_load_service(item, acting_user))
        if changed:
            audit_append(
                action="demo.services_loaded",
                acting_user=acting_user,
                actor_username="" if acting_user else "demo_load",
                object_type="demo",
                details={"changed": changed, "services": len(ITEMS) + len(BUNDLES)},
            )
    return changed
