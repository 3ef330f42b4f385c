"""``flask`` commands, one file per topic. Each command calls a domain package's function.

- :mod:`.questionnaires`, :mod:`.accounts` (units, users, desks), :mod:`.waves`,
  :mod:`.weights`, :mod:`.data` (export, demo), :mod:`.alerts` (alerts, digest),
  :mod:`.figures` (figure store, partitions): the groups and their commands;
- :mod:`.common`: the ``--lang`` option, counts and dates, refusals;
- :mod:`.language`: click's own words and the help texts in the chosen language.

``flask db upgrade`` comes from Flask-Migrate.

Messages meant for people (reports, warnings, refusals, click's own usage lines and
refusals, the help texts) are in Vietnamese unless the user chooses English: every
command takes ``--lang vi|en``, and the ``SURVEY_LANG``
environment variable (``vi``, ``en`` or a locale name such as ``en_US.UTF-8``) sets the
default. What scripts read stays the same in both languages: files (CSV, XLSX, YAML),
the token of ``desks token`` and the tab-separated rows of ``waves list``. English
output is what it was before the choice existed, so scripts written against it keep
working; Vietnamese output writes numbers and dates the Vietnamese way.
"""

from __future__ import annotations

from flask import Flask

from survey_app.cli.accounts import desks_group, units_group, users_group
from survey_app.cli.alerts import alerts_group, digest_group
from survey_app.cli.common import language_option
from survey_app.cli.data import demo_group, export_group
from survey_app.cli.figures import figures_group, partitions_group
from survey_app.cli.language import speak_on_flask_command_line
from survey_app.cli.questionnaires import questionnaires_group
from survey_app.cli.waves import waves_group
from survey_app.cli.weights import weights_group


def register(app: Flask) -> None:
    speak_on_flask_command_line(app.cli)
    for group in (
        questionnaires_group,
        units_group,
        users_group,
        desks_group,
        waves_group,
        weights_group,
        export_group,
        demo_group,
        alerts_group,
        digest_group,
        figures_group,
        partitions_group,
    ):
        for command in (group, *group.commands.values()):
            # The groups are module-level: a second app (tests) must not add it again.
            if not any(param.name == "lang" for param in command.params):
                command.params.append(language_option())
        app.cli.add_command(group)
