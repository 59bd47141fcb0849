"""Export a pipeline to the engines teams run in production: an Airflow DAG file, a Kubeflow
Pipelines IR YAML (kfp SDK), Argo Workflows manifests (hera). Every target runs the same step
containers through the same entry point as the docker backend (``step_main``, which imports
nothing of the rest of this package: step images lack its dependencies). kfp and hera come
with the ``export`` extra and are imported only by their target (``write``)."""
