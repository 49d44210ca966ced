from django.apps import AppConfig


class WorkflowConfig(AppConfig):
    name = "onewindow.workflow"
    label = "workflow"
    verbose_name = "Back-office workflow (BPMN)"

    def ready(self) -> None:
        """Plug the BPMN engine into the applications app: accepted cases start their published process."""
        from onewindow.applications.processing import (
            register_process_starter,
            register_stop_hook,
            register_supplement_hook,
        )
        from onewindow.workflow.actions import case_processing_start, case_processing_stop, case_supplemented

        register_process_starter(case_processing_start)
        register_supplement_hook(case_supplemented)
        register_stop_hook(case_processing_stop)
