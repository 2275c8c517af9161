"""Answers given when this project was generated from the template."""

PROJECT_SLUG = {{ cookiecutter.project_slug | tojson }}
MODEL_NAME = {{ cookiecutter.model_name | tojson }}
SERVICE_NAME = {{ cookiecutter.service_name | tojson }}
FRAMEWORK = {{ cookiecutter.framework | tojson }}
# The CSV the model is trained on by default ("": the built-in use case's synthetic sample).
DATA_PATH = {{ cookiecutter.data_path | tojson }}

# Serve-time overrides: {{ cookiecutter.__env_prefix }}DECLINE_THRESHOLD and friends (see policy.py).
ENV_PREFIX = {{ cookiecutter.__env_prefix | tojson }}
DECLINE_THRESHOLD = {{ cookiecutter.decline_threshold | float }}
MAYBE_THRESHOLD = {{ cookiecutter.maybe_threshold | float }}
DECLINED_LABEL = {{ cookiecutter.declined_label | tojson }}
MAYBE_LABEL = {{ cookiecutter.maybe_label | tojson }}
APPROVED_LABEL = {{ cookiecutter.approved_label | tojson }}

# The versions the bento is built with (bentofile.yaml); train.py warns when it runs with others.
PINNED_PACKAGES = {
{%- for group in [cookiecutter._service_packages, cookiecutter._framework_packages[cookiecutter.framework]] %}
{%- for package, version in group.items() %}
    "{{ package }}": "{{ version }}",
{%- endfor %}
{%- endfor %}
}
