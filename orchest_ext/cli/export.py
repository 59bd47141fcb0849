"""`jupyter orchest export`: write a pipeline as an Airflow DAG, a Kubeflow Pipelines package
or Argo Workflows manifests."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from traitlets import Bool, Enum, Float, Integer, List, TraitError, Unicode, validate

from .base import CLIApp

TARGETS = ("airflow", "kfp", "argo")
OPERATORS = ("docker", "kubernetes")


class ExportApp(CLIApp):
    """Export a pipeline to Airflow, Kubeflow Pipelines or Argo Workflows."""

    name = "jupyter-orchest-export"
    description = (
        "Write a pipeline file (.orchest or Elyra .pipeline) as an Airflow DAG file (airflow), "
        "a Kubeflow Pipelines IR YAML (kfp) or Argo Workflows manifests (argo). Every step runs "
        "in its step image through the docker backend's entry point, so notebooks run with "
        "their parameters injected and steps pass data with the orchest SDK through a shared "
        "volume. Exits 0 with the files written, 1 when the pipeline cannot be exported as "
        "asked (the message says why), 2 for a usage error. kfp and argo need the export "
        "extra: pip install 'orchest_ext[export]'."
    )
    examples = """
jupyter orchest export --to airflow my.orchest --output dags/
jupyter orchest export --to airflow my.orchest --output dags/ --airflow-operator kubernetes \
    --volume pipelines
jupyter orchest export --to kfp my.orchest --output out/ --volume pipelines --registry ghcr.io/me
jupyter orchest export --to argo my.orchest --output out/ --volume pipelines --namespace ml \
    --schedule '0 3 * * *'
"""

    to = Enum(TARGETS, None, allow_none=True, help="Target: airflow, kfp or argo.").tag(config=True)
    output = Unicode("", help="Directory to write into (default: the pipeline's).").tag(config=True)
    export_name = Unicode(
        "", help="DAG id / pipeline / workflow name (default: from the pipeline's name)."
    ).tag(config=True)
    registry = Unicode(
        "", help="Registry prefix of every image name, e.g. registry.example.com/team."
    ).tag(config=True)
    image = Unicode(
        "",
        help="Image of steps that name none (default: c.DockerExecutor.default_image, else "
        "orchest-ext/step:latest).",
    ).tag(config=True)
    environment_images = List(
        Unicode(),
        help="ENVIRONMENT=IMAGE: the image of the steps using an Orchest environment "
        "(adds to c.DockerExecutor.environment_images); repeat for several.",
    ).tag(config=True)
    namespace = Unicode(
        "", help="Kubernetes namespace (Argo, Airflow's KubernetesPodOperator)."
    ).tag(config=True)
    schedule = Unicode("", help="Cron schedule: the DAG's, or an Argo CronWorkflow.").tag(
        config=True
    )
    volume = Unicode(
        "",
        help="Shared volume: a host directory bind-mounted for Airflow with Docker (default: "
        "the pipeline directory), else the PersistentVolumeClaim holding the pipeline "
        "directory and its runs.",
    ).tag(config=True)
    data_path = Unicode(
        "",
        help="The pipeline directory inside step containers (default: its path here for "
        "Docker, /orchest/pipeline on Kubernetes).",
    ).tag(config=True)
    step_timeout = Float(
        None, allow_none=True, help="Seconds a step may run (Airflow, Argo; kfp refuses it)."
    ).tag(config=True)
    retries = Integer(0, min=0, help="Retries of steps that set none themselves.").tag(config=True)
    retry_delay = Float(0.0, min=0.0, help="Seconds between retries, if a step sets none.").tag(
        config=True
    )
    cpu_limit = Float(
        None,
        allow_none=True,
        help="CPU cores a step may use (Kubernetes targets; DockerOperator cannot limit CPUs).",
    ).tag(config=True)
    memory_limit = Unicode(
        None, allow_none=True, help="Memory a step may use, e.g. 512m or 2g."
    ).tag(config=True)
    gpus = Integer(None, allow_none=True, help="GPUs of each step (a count).").tag(config=True)
    airflow_operator = Enum(
        OPERATORS,
        "docker",
        help="Airflow tasks: DockerOperator (docker) or KubernetesPodOperator (kubernetes).",
    ).tag(config=True)
    mount_runner = Bool(
        False,
        help="Airflow with Docker: mount this installation's orchest_ext into the step "
        "containers, for step images built before it.",
    ).tag(config=True)

    aliases = {
        **CLIApp.aliases,
        "to": "ExportApp.to",
        "output": "ExportApp.output",
        "name": "ExportApp.export_name",
        "registry": "ExportApp.registry",
        "image": "ExportApp.image",
        "environment-image": "ExportApp.environment_images",
        "namespace": "ExportApp.namespace",
        "schedule": "ExportApp.schedule",
        "volume": "ExportApp.volume",
        "data-path": "ExportApp.data_path",
        "step-timeout": "ExportApp.step_timeout",
        "retries": "ExportApp.retries",
        "retry-delay": "ExportApp.retry_delay",
        "cpu-limit": "ExportApp.cpu_limit",
        "memory-limit": "ExportApp.memory_limit",
        "gpus": "ExportApp.gpus",
        "airflow-operator": "ExportApp.airflow_operator",
    }
    flags = {
        **CLIApp.flags,
        "mount-runner": ({"ExportApp": {"mount_runner": True}}, mount_runner.help),
    }

    @validate("environment_images")
    def _valid_environment_images(self, proposal: dict[str, Any]) -> list[str]:
        for pair in proposal["value"]:
            key, sep, value = pair.partition("=")
            if not (sep and key and value):
                raise TraitError(f"--environment-image expects ENVIRONMENT=IMAGE, got {pair!r}.")
        return proposal["value"]

    def _docker_setting(self, name: str, fallback: Any) -> Any:
        """The docker backend's setting (``c.DockerExecutor.<name>``), else ``fallback``."""
        section = self.config.DockerExecutor if "DockerExecutor" in self.config else {}
        return section.get(name, fallback)

    def options(self) -> Any:
        """The ``ExportOptions`` of the command line and config."""
        from ..export.plan import DEFAULT_IMAGE, ExportOptions

        environments = dict(self._docker_setting("environment_images", {}))
        environments.update(pair.split("=", 1) for pair in self.environment_images)
        return ExportOptions(
            target=self.to,
            name=self.export_name or None,
            registry=self.registry or None,
            default_image=self.image or self._docker_setting("default_image", DEFAULT_IMAGE),
            environment_images=environments,
            namespace=self.namespace or None,
            schedule=self.schedule or None,
            volume=self.volume or None,
            data_path=self.data_path or None,
            step_timeout=self.step_timeout,
            retries=self.retries,
            retry_delay=self.retry_delay,
            airflow_operator=self.airflow_operator,
            cpu_limit=self.cpu_limit,
            memory_limit=self.memory_limit,
            gpus=self.gpus,
            mount_runner=self.mount_runner,
        )

    def start(self) -> None:
        if len(self.extra_args) != 1:
            self.log.critical("export takes one pipeline file, got %d", len(self.extra_args))
            self.exit(2)
        if self.to is None:
            self.log.critical("--to is required: airflow, kfp or argo")
            self.exit(2)
        self.exit(self.export(Path(self.extra_args[0])))

    def export(self, pipeline_file: Path) -> int:
        """Export ``pipeline_file``, print the files written; return the exit code."""
        from ..export.plan import ExportError
        from ..export.write import export_pipeline
        from ..pipeline import PipelineError

        output = Path(self.output) if self.output else pipeline_file.absolute().parent
        try:
            written = export_pipeline(pipeline_file, output, self.options())
        except PipelineError as err:
            print(f"{pipeline_file}: cannot export an invalid pipeline:", file=sys.stderr)
            for issue in err.issues:
                print(f"  - {issue.message}", file=sys.stderr)
            return 1
        except ExportError as err:
            print(f"Cannot export {pipeline_file} to {self.to}: {err}", file=sys.stderr)
            return 1
        except OSError as err:
            print(f"Cannot write to {output}: {err.strerror or err}", file=sys.stderr)
            return 1
        for path in written:
            print(path)
        return 0
