"""Answers given when this project was generated from the template."""

PROJECT_NAME = {{ cookiecutter.project_name | python_string }}
PROJECT_SLUG = {{ cookiecutter.project_slug | python_string }}
MODEL_NAME = {{ cookiecutter.model_name | python_string }}
SERVICE_NAME = {{ cookiecutter.service_name | python_string }}
FRAMEWORK = {{ cookiecutter.framework | python_string }}
# The CSV the model is trained on by default ("": the built-in use case's synthetic sample).
DATA_PATH = {{ cookiecutter.data_path | python_string }}

# Serve-time overrides: {{ cookiecutter.__env_prefix }}DECLINE_THRESHOLD and friends (see policy.py).
ENV_PREFIX = {{ cookiecutter.__env_prefix | python_string }}
DECLINE_THRESHOLD = {{ cookiecutter.decline_threshold | float }}
MAYBE_THRESHOLD = {{ cookiecutter.maybe_threshold | float }}
DECLINED_LABEL = {{ cookiecutter.declined_label | python_string }}
MAYBE_LABEL = {{ cookiecutter.maybe_label | python_string }}
APPROVED_LABEL = {{ cookiecutter.approved_label | python_string }}

# The versions the bento is built with (bentofile.yaml); train.py warns when it runs with others.
PINNED_PACKAGES = {
{%- for group in [cookiecutter._service_packages, cookiecutter._framework_packages[cookiecutter.framework]] %}
{%- for package, version in group.items() %}
    "{{ package }}": "{{ version }}",
{%- endfor %}
{%- endfor %}
}
