"""Read-aloud audio for the citizens' forms: one file per text and language.

Every question, answer label and screen message of every loaded questionnaire gets a
Vietnamese and an English recording when questionnaires are loaded (``flask
questionnaires load``). They are made offline with Debian's ``espeak-ng`` (voices
``vi`` and ``en``), encoded as MP3 (variable bit rate, about 48 kbit/s: :data:`ENCODING`)
and written into ``instance/audio/`` under a name derived from the text's checksum, so
an unchanged text is never generated twice and a file's content never changes under
its name (the files are served with a long cache and the kiosk's service worker keeps
them for offline use). Each kiosk downloads every file once: for the shipped
questionnaires, 140 files, 315 s of speech: 13.9 MB as espeak-ng's WAV, 1.8 MB as MP3
(on a 2 Mbit/s connection, about 7 s instead of a minute). MP3 rather than Ogg Opus,
because every tablet and phone browser plays it, older Safari included.

A questionnaire file may name a recorded human voice for any of its texts (top-level
``audio:`` mapping, ``{vi: {text: file}, en: {text: file}}``, paths relative to the
file); such a recording is copied into the cache under its content's checksum and
takes precedence over the synthetic voice.

``instance/audio/manifest.json`` maps ``{lang: {text: file name}}``; pages look texts
up there (:func:`urls_for`) and show a speaker button only where a file exists.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import soundfile
from flask import current_app
from flask_babel import gettext as _

from survey_app import formatting
from survey_app.collection import questionnaire as spec
from survey_app.extensions import LANGUAGES

FOLDER = "audio"
MANIFEST = "manifest.json"
ESPEAK = "espeak-ng"
#: espeak-ng voice per language (``espeak-ng --voices=vi`` lists the Vietnamese ones).
VOICES: Mapping[str, str] = {"vi": "vi", "en": "en"}
#: Words per minute: a little slower than espeak-ng's 175, for listeners who need it.
SPEED = 150
#: How a synthetic voice is stored: MP3 at libsndfile's compression level 0.6 of a
#: variable bit rate (LAME's VBR: about 48 kbit/s for espeak-ng's 22,050 Hz speech; 0.9
#: gave 34 kbit/s; the WAV is 353). The encoding is part of each file's name
#: (:func:`text_key`), so a changed one makes new files.
COMPRESSION = 0.6
ENCODING = f"mp3-vbr-{COMPRESSION}"
SUFFIX = ".mp3"
#: The media type of each sound file the cache may hold, by suffix: the synthetic
#: voices and the recorded ones a questionnaire names.
MEDIA_TYPES: Mapping[str, str] = {
    ".mp3": "audio/mpeg",
    ".wav": "audio/wav",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".m4a": "audio/mp4",
    ".webm": "audio/webm",
}
RECORDING_SUFFIXES = frozenset(MEDIA_TYPES)
RECORDING_MAX_BYTES = 20 * 1024 * 1024


class AudioError(RuntimeError):
    """Audio could not be made (engine missing, a recording unreadable...)."""


@dataclass
class BuildReport:
    """What :func:`build` did: files made, reused, recordings used."""

    generated: int = 0
    reused: int = 0
    recorded: int = 0
    texts: dict[str, set[str]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        total = sum(len(texts) for texts in self.texts.values())
        return [
            _(
                "audio: %(total)s texts (%(languages)s): %(generated)s generated, "
                "%(reused)s cached, %(recorded)s recorded voices",
                total=formatting.number(total),
                languages=", ".join(sorted(self.texts)),
                generated=formatting.number(self.generated),
                reused=formatting.number(self.reused),
                recorded=formatting.number(self.recorded),
            )
        ]


def folder() -> Path:
    """``instance/audio`` (created on demand)."""
    path = Path(current_app.instance_path) / FOLDER
    path.mkdir(parents=True, exist_ok=True)
    return path


def normalise(text: str) -> str:
    """The text as it is looked up: NFC, single spaces, stripped."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def text_key(lang: str, text: str) -> str:
    """The checksum naming a text's generated file (voice, speed and encoding included)."""
    source = f"{ESPEAK}|{VOICES[lang]}|{SPEED}|{ENCODING}|{normalise(text)}"
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:40]


# ---------------------------------------------------------------------------- texts


def questionnaire_texts(q: spec.Questionnaire, lang: str) -> list[str]:
    """Every text a citizen sees in ``q`` (title, sections, questions, answers), in order."""
    labels: list[spec.Label | None] = [q.title, q.description]
    for section in q.sections:
        labels += [section.title, section.description]
        for item in section.items:
            labels += [item.label, item.help, item.unit, item.warning]
            labels += list(item.levels)
            labels += [option.label for option in item.options]
    return unique(label.get(lang) for label in labels if label is not None)


def unique(texts: Iterable[str]) -> list[str]:
    """Normalised, non-empty, first occurrence kept."""
    seen: dict[str, None] = {}
    for text in texts:
        text = normalise(text)
        if text:
            seen.setdefault(text, None)
    return list(seen)


# ---------------------------------------------------------------------------- making


def synthesise(lang: str, text: str, target: Path) -> None:
    """Write ``text`` spoken in ``lang`` to ``target`` with espeak-ng, as MP3
    (:data:`ENCODING`)."""
    engine = shutil.which(ESPEAK)
    if engine is None:
        raise AudioError(
            _(
                "espeak-ng is not installed: install the Debian package espeak-ng "
                "(scripts/run.sh does) and load the questionnaires again"
            )
        )
    try:
        # The text goes on stdin: never parsed as options, whatever it starts with.
        spoken = subprocess.run(
            [engine, "-v", VOICES[lang], "-s", str(SPEED), "--stdout", "--stdin"],
            input=text.encode("utf-8"),
            check=True,
            capture_output=True,
            timeout=60,
        ).stdout
    except (subprocess.SubprocessError, OSError) as error:
        raise AudioError(
            _(
                "espeak-ng failed for %(text)s (%(lang)s): %(error)s",
                text=repr(text[:60]),
                lang=lang,
                error=error,
            )
        ) from error
    with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".part", delete=False) as tmp:
        part = Path(tmp.name)
    try:
        samples, rate = soundfile.read(io.BytesIO(spoken))
        soundfile.write(
            part, samples, rate, format="MP3", subtype="MPEG_LAYER_III",
            bitrate_mode="VARIABLE", compression_level=COMPRESSION,
        )  # fmt: skip
        os.replace(part, target)
    except (soundfile.SoundFileError, OSError) as error:
        raise AudioError(
            _(
                "the audio of %(text)s (%(lang)s) could not be encoded: %(error)s",
                text=repr(text[:60]),
                lang=lang,
                error=error,
            )
        ) from error
    finally:
        part.unlink(missing_ok=True)


def media_type(name: str) -> str:
    """The media type of the cached file ``name``, by its suffix."""
    return MEDIA_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")


def _copy_recording(source: Path, cache: Path) -> str:
    """Copy a recorded voice into the cache under its content checksum; its file name."""
    if source.suffix.lower() not in RECORDING_SUFFIXES:
        raise AudioError(
            _(
                "%(file)s: recorded voices must be one of %(suffixes)s",
                file=source,
                suffixes=", ".join(sorted(RECORDING_SUFFIXES)),
            )
        )
    try:
        data = source.read_bytes()
    except OSError as error:
        raise AudioError(
            _("%(file)s: cannot read the recorded voice (%(error)s)", file=source, error=error)
        ) from error
    if not data or len(data) > RECORDING_MAX_BYTES:
        raise AudioError(_("%(file)s: empty or larger than 20 MB", file=source))
    name = "rec-" + hashlib.sha256(data).hexdigest()[:40] + source.suffix.lower()
    target = cache / name
    if not target.exists():
        target.write_bytes(data)
    return name


def recordings_of(q: spec.Questionnaire) -> dict[str, dict[str, Path]]:
    """The recorded voices a questionnaire file names: ``{lang: {text: path}}``.

    Raises
    ------
    AudioError
        If the ``audio`` entry is not ``{vi|en: {text: file}}``.
    """
    if not q.source or not Path(q.source).is_file():
        return {}
    path = Path(q.source)
    data = spec.read_file(path)
    entry = data.get("audio") if isinstance(data, dict) else None
    if entry is None:
        return {}
    if not isinstance(entry, dict) or not set(entry) <= set(LANGUAGES):
        raise AudioError(_("%(file)s: 'audio' must map vi/en to {text: recorded file}", file=path))
    result: dict[str, dict[str, Path]] = {}
    for lang, files in entry.items():
        if not isinstance(files, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in files.items()
        ):
            raise AudioError(
                _(
                    "%(file)s: audio.%(lang)s must map each text to a file name",
                    file=path,
                    lang=lang,
                )
            )
        result[lang] = {normalise(text): path.parent / name for text, name in files.items()}
    return result


def build(
    definitions: Iterable[spec.Questionnaire],
    screen_texts: Callable[[str], list[str]],
    *,
    progress: Callable[[str], None] | None = None,
) -> BuildReport:
    """Make (or reuse) the audio of every text of ``definitions`` and the screens.

    ``screen_texts(lang)`` gives the forms' own messages in ``lang``. The manifest is
    rewritten with every text built now plus the entries already there (texts of
    questionnaires loaded earlier stay playable).
    """
    cache = folder()
    report = BuildReport()
    manifest = read_manifest()
    definitions = list(definitions)
    recorded: dict[str, dict[str, Path]] = {lang: {} for lang in LANGUAGES}
    for q in definitions:
        for lang, files in recordings_of(q).items():
            recorded[lang].update(files)
    for lang in LANGUAGES:
        texts = unique(
            [t for q in definitions for t in questionnaire_texts(q, lang)] + screen_texts(lang)
        )
        report.texts[lang] = set(texts)
        entries = manifest.setdefault(lang, {})
        for text in texts:
            if text in recorded[lang]:
                entries[text] = _copy_recording(recorded[lang][text], cache)
                report.recorded += 1
                continue
            name = text_key(lang, text) + SUFFIX
            if (cache / name).is_file():
                report.reused += 1
            else:
                synthesise(lang, text, cache / name)
                report.generated += 1
                if progress is not None and report.generated % 50 == 0:
                    progress(f"audio: {report.generated} files made…")
            entries[text] = name
    write_manifest(manifest)
    return report


# ---------------------------------------------------------------------------- lookup


def read_manifest() -> dict[str, dict[str, str]]:
    """``{lang: {text: file name}}``; empty when no audio was made yet."""
    path = folder() / MANIFEST
    try:
        stamp = path.stat().st_mtime_ns
    except FileNotFoundError:
        return {}
    cached = current_app.extensions.get("survey.audio_manifest")
    if cached is not None and cached[0] == stamp:
        return {lang: dict(entries) for lang, entries in cached[1].items()}
    data = json.loads(path.read_text(encoding="utf-8"))
    current_app.extensions["survey.audio_manifest"] = (stamp, data)
    return {lang: dict(entries) for lang, entries in data.items()}


def write_manifest(manifest: Mapping[str, Mapping[str, str]]) -> None:
    path = folder() / MANIFEST
    part = path.with_suffix(".part")
    part.write_text(json.dumps(manifest, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    os.replace(part, path)


def urls_for(
    texts: Mapping[str, Iterable[str]], url: Callable[[str], str]
) -> dict[str, dict[str, str]]:
    """``{lang: {text: address}}`` for the texts that have audio (``url(file name)``)."""
    manifest = read_manifest()
    result: dict[str, dict[str, str]] = {}
    for lang, wanted in texts.items():
        entries = manifest.get(lang, {})
        keys = {normalise(text) for text in wanted}
        result[lang] = {key: url(entries[key]) for key in sorted(keys) if key in entries}
    return result


def file_path(name: str) -> Path | None:
    """The cached file ``name`` if it is one of ours (no path tricks), else None."""
    if "/" in name or "\\" in name or name.startswith(".") or name == MANIFEST:
        return None
    path = folder() / name
    return path if path.is_file() else None


def spoken(texts: Iterable[Any]) -> list[str]:
    """Strings only, normalised (placeholder texts such as ``%(n)s`` are left out)."""
    return [normalise(t) for t in texts if isinstance(t, str) and "%(" not in t and t.strip()]
