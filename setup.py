"""Build configuration that pyproject.toml cannot state: the recipes and their data inside the wheel.

Everything else (metadata, dependencies, extras, the ``lstm-apps`` command) is in pyproject.toml.
The recipe scripts stay in ``recipes/`` and the bundled data in ``data/``, where users of a checkout
read and run them; a wheel carries copies as the package folders ``lstm_apps/_recipes`` and
``lstm_apps/_data`` (``package_dir`` maps them), where :mod:`lstm_apps.resources` finds them, so
``lstm-apps recipes`` and ``lstm-apps run NAME`` work from an installed wheel. pyproject.toml's
``[tool.setuptools.packages.find]`` cannot add packages mapped from outside the package folder, so
the package list is here.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["lstm_apps", "lstm_apps.*"]) + ["lstm_apps._recipes", "lstm_apps._data"],
    package_dir={"lstm_apps._recipes": "recipes", "lstm_apps._data": "data"},
    package_data={"lstm_apps._recipes": ["*.py"], "lstm_apps._data": ["**/*"]},
)
