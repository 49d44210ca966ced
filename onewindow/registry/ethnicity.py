"""Ethnic group codes of GB/T 3304-1991 (中国各民族名称的罗马字母拼写法和代码).

The standard numbers the 56 recognised ethnic groups 01 (汉族) to 56 (基诺族) in this order, and adds
97 (其他, other / not yet identified) and 98 (外国血统中国籍人士, Chinese citizens of foreign origin). The
household register (户口登记) and the resident ID card record the two-digit numeric code. English names are
the usual English names of the groups (the standard's own romanisations differ in places, e.g. "Uygur").
"""

from __future__ import annotations

from typing import NamedTuple


class Ethnicity(NamedTuple):
    code: str
    name_zh: str
    name_en: str


ETHNICITIES: tuple[Ethnicity, ...] = (
    Ethnicity("01", "汉族", "Han"),
    Ethnicity("02", "蒙古族", "Mongol"),
    Ethnicity("03", "回族", "Hui"),
    Ethnicity("04", "藏族", "Tibetan"),
    Ethnicity("05", "维吾尔族", "Uyghur"),
    Ethnicity("06", "苗族", "Miao"),
    Ethnicity("07", "彝族", "Yi"),
    Ethnicity("08", "壮族", "Zhuang"),
    Ethnicity("09", "布依族", "Bouyei"),
    Ethnicity("10", "朝鲜族", "Korean"),
    Ethnicity("11", "满族", "Manchu"),
    Ethnicity("12", "侗族", "Dong"),
    Ethnicity("13", "瑶族", "Yao"),
    Ethnicity("14", "白族", "Bai"),
    Ethnicity("15", "土家族", "Tujia"),
    Ethnicity("16", "哈尼族", "Hani"),
    Ethnicity("17", "哈萨克族", "Kazakh"),
    Ethnicity("18", "傣族", "Dai"),
    Ethnicity("19", "黎族", "Li"),
    Ethnicity("20", "傈僳族", "Lisu"),
    Ethnicity("21", "佤族", "Va"),
    Ethnicity("22", "畲族", "She"),
    Ethnicity("23", "高山族", "Gaoshan"),
    Ethnicity("24", "拉祜族", "Lahu"),
    Ethnicity("25", "水族", "Sui"),
    Ethnicity("26", "东乡族", "Dongxiang"),
    Ethnicity("27", "纳西族", "Nakhi"),
    Ethnicity("28", "景颇族", "Jingpo"),
    Ethnicity("29", "柯尔克孜族", "Kyrgyz"),
    Ethnicity("30", "土族", "Monguor (Tu)"),
    Ethnicity("31", "达斡尔族", "Daur"),
    Ethnicity("32", "仫佬族", "Mulao"),
    Ethnicity("33", "羌族", "Qiang"),
    Ethnicity("34", "布朗族", "Blang"),
    Ethnicity("35", "撒拉族", "Salar"),
    Ethnicity("36", "毛南族", "Maonan"),
    Ethnicity("37", "仡佬族", "Gelao"),
    Ethnicity("38", "锡伯族", "Xibe"),
    Ethnicity("39", "阿昌族", "Achang"),
    Ethnicity("40", "普米族", "Pumi"),
    Ethnicity("41", "塔吉克族", "Tajik"),
    Ethnicity("42", "怒族", "Nu"),
    Ethnicity("43", "乌孜别克族", "Uzbek"),
    Ethnicity("44", "俄罗斯族", "Russian"),
    Ethnicity("45", "鄂温克族", "Evenk"),
    Ethnicity("46", "德昂族", "De'ang"),
    Ethnicity("47", "保安族", "Bonan"),
    Ethnicity("48", "裕固族", "Yugur"),
    Ethnicity("49", "京族", "Gin"),
    Ethnicity("50", "塔塔尔族", "Tatar"),
    Ethnicity("51", "独龙族", "Derung"),
    Ethnicity("52", "鄂伦春族", "Oroqen"),
    Ethnicity("53", "赫哲族", "Hezhen"),
    Ethnicity("54", "门巴族", "Monpa"),
    Ethnicity("55", "珞巴族", "Lhoba"),
    Ethnicity("56", "基诺族", "Jino"),
    Ethnicity("97", "其他", "Other (not yet identified)"),
    Ethnicity("98", "外国血统中国籍人士", "Chinese citizen of foreign origin"),
)

ETHNICITY_BY_CODE: dict[str, Ethnicity] = {ethnicity.code: ethnicity for ethnicity in ETHNICITIES}

# For model and form fields: the code and the Chinese name (the register's language).
ETHNICITY_CHOICES: list[tuple[str, str]] = [(e.code, f"{e.code} {e.name_zh}") for e in ETHNICITIES]


def is_ethnicity_code(code: str) -> bool:
    """True for a GB/T 3304 numeric code (01–56, 97, 98)."""
    return code in ETHNICITY_BY_CODE
