"""Read-aloud audio (issue 17): made by ``flask questionnaires load`` with espeak-ng.

Every text of the shipped questionnaires and every screen message of the kiosk and the
phone form has a file in Vietnamese and English; each decodes as MP3 (``soundfile``) with
a plausible duration for its text, at a bit rate a kiosk's connection can fetch; recorded
voices named in a questionnaire file take precedence and are served with their own
media type; the files are served with a long cache and nothing else is.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from survey_app.admin import units
from survey_app.collection import audio, desks, read_aloud
from survey_app.collection import questionnaire as spec

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng missing")

QUESTIONNAIRES = Path(__file__).resolve().parents[2] / "questionnaires"


#: The most a spoken second may weigh: 64 kbit/s (espeak-ng's WAV is 353 kbit/s; the
#: kiosk downloads every file of its questionnaire for offline use).
MAX_BYTES_PER_SECOND = 8000


def spoken_seconds(path: Path) -> float:
    """The duration of a synthetic voice's file, which must be mono MP3 of 16 kHz or more."""
    info = soundfile.info(str(path))
    assert (info.format, info.channels) == ("MP3", 1) and info.samplerate >= 16000, info
    return info.duration


def plausible(text: str, seconds: float) -> bool:
    """Speech at 150 words a minute: a syllable takes roughly 0.1-0.5 s (espeak-ng pads)."""
    words = max(1, len(re.findall(r"\w+", text)))
    return 0.25 <= seconds <= 2.0 + 1.0 * words and seconds >= 0.08 * words


def test_load_makes_audio_for_every_text_in_both_languages(
    app: Flask, runner: FlaskCliRunner
) -> None:
    result = runner.invoke(args=["questionnaires", "load"])
    assert result.exit_code == 0, result.output
    assert re.search(r"âm thanh: [\d.]+ văn bản \(en, vi\): tạo mới [\d.]+", result.output)
    manifest = audio.read_manifest()
    checked, seconds_in_all, bytes_in_all = 0, 0.0, 0
    for q in spec.load_directory(QUESTIONNAIRES):
        for lang in ("vi", "en"):
            texts = audio.questionnaire_texts(q, lang) + read_aloud.spoken_texts(lang)
            assert len(texts) > 20
            for text in texts:
                name = manifest[lang].get(text)
                assert name, f"no audio for {lang}: {text!r}"
                seconds = spoken_seconds(audio.folder() / name)
                assert plausible(text, seconds), (lang, text, seconds)
                checked += 1
                seconds_in_all += seconds
                bytes_in_all += (audio.folder() / name).stat().st_size
    assert checked > 300
    assert bytes_in_all / seconds_in_all <= MAX_BYTES_PER_SECOND
    # The shipped questions themselves, by their wording, in both languages.
    mood_vi = "Ông/Bà hài lòng ở mức nào với việc giải quyết thủ tục hôm nay?"
    mood_en = "How satisfied are you with how your procedure was handled today?"
    assert spoken_seconds(audio.folder() / manifest["vi"][mood_vi]) > 2.0
    assert spoken_seconds(audio.folder() / manifest["en"][mood_en]) > 2.0
    # Vietnamese and English files of the same question differ.
    assert manifest["vi"][mood_vi] != manifest["en"][mood_en]
    # A second load reuses every file.
    again = runner.invoke(args=["questionnaires", "load"])
    assert re.search(r": tạo mới 0, dùng lại [\d.]+", again.output), again.output  # vi: the default


def small_questionnaire(folder: Path, audio_entry: str = "") -> None:
    (folder / "tiny.yaml").write_text(
        "slug: tiny\nversion: 1\ntitle: {vi: Phiếu nhỏ, en: Tiny form}\n"
        "sections:\n  - code: s\n    title: {vi: Phần một, en: Part one}\n    items:\n"
        "      - code: q1\n        type: smiley\n        faces: 3\n"
        '        label: {vi: "Ông/Bà có hài lòng không?", en: "Are you satisfied?"}\n'
        + audio_entry,
        encoding="utf-8",
    )


def recording(path: Path, seconds: float) -> bytes:
    """A recorded voice (a tone), in the format its suffix names."""
    tone = 0.2 * np.sin(np.arange(int(16000 * seconds)) * 2 * np.pi * 440 / 16000)
    soundfile.write(str(path), tone, 16000)
    return path.read_bytes()


@pytest.mark.parametrize(("suffix", "media_type"), [(".wav", "audio/wav"), (".ogg", "audio/ogg")])
def test_a_recorded_voice_takes_precedence(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, tmp_path: Path, suffix: str,
    media_type: str,
) -> None:  # fmt: skip
    folder = tmp_path / "forms"
    (folder / "voices").mkdir(parents=True)
    data = recording(folder / "voices" / f"q1-vi{suffix}", 1.5)
    small_questionnaire(
        folder, f'audio:\n  vi:\n    "Ông/Bà có hài lòng không?": voices/q1-vi{suffix}\n'
    )
    result = runner.invoke(args=["questionnaires", "load", "--dir", str(folder)])
    assert result.exit_code == 0, result.output
    assert "1 giọng ghi âm" in result.output
    manifest = audio.read_manifest()
    recorded = manifest["vi"]["Ông/Bà có hài lòng không?"]
    assert (audio.folder() / recorded).read_bytes() == data
    with client.get(f"/kiosk/audio/{recorded}") as served:  # in its own format
        assert (served.status_code, served.mimetype, served.data) == (200, media_type, data)
    # English has no recording: espeak-ng's voice.
    assert spoken_seconds(audio.folder() / manifest["en"]["Are you satisfied?"]) > 0.5
    # Without the recording, the synthetic voice comes back.
    small_questionnaire(folder)
    # (same slug and version, changed file: it holds no responses, so it may be updated)
    result = runner.invoke(args=["questionnaires", "load", "--dir", str(folder)])
    assert result.exit_code == 0, result.output
    name = audio.read_manifest()["vi"]["Ông/Bà có hài lòng không?"]
    assert name != recorded and spoken_seconds(audio.folder() / name) > 0.5


#: What the load says, in each language, when a recorded voice cannot be read and when
#: the ``audio`` entry names another language than vi and en.
UNREADABLE = {"vi": "không đọc được giọng ghi âm", "en": "cannot read the recorded voice"}
NOT_VI_EN = {"vi": "mục 'audio' phải gán cho vi/en", "en": "'audio' must map vi/en"}


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_recorded_voice_that_is_missing_is_an_error(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path, lang: str
) -> None:
    load = ["questionnaires", "load", "--dir", str(tmp_path), "--lang", lang]
    small_questionnaire(tmp_path, 'audio:\n  vi:\n    "Phiếu nhỏ": voices/none.wav\n')
    result = runner.invoke(args=load)
    assert result.exit_code != 0
    assert "none.wav" in result.output and UNREADABLE[lang] in result.output
    small_questionnaire(tmp_path, "audio:\n  fr: {}\n")
    result = runner.invoke(args=load)
    assert result.exit_code != 0 and NOT_VI_EN[lang] in result.output


@pytest.mark.parametrize(
    ("lang", "said"),
    [("vi", "Chưa cài espeak-ng: hãy cài gói Debian espeak-ng"),
     ("en", "espeak-ng is not installed: install the Debian package espeak-ng")],
)  # fmt: skip
def test_without_espeak_the_load_says_what_to_install(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    lang: str, said: str,
) -> None:  # fmt: skip
    small_questionnaire(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = runner.invoke(args=["questionnaires", "load", "--dir", str(tmp_path), "--lang", lang])
    assert result.exit_code != 0
    assert said in result.output


def test_pages_carry_the_audio_and_files_are_served_with_a_long_cache(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    folder = tmp_path / "forms"
    folder.mkdir()
    shutil.copy(QUESTIONNAIRES / "kiosk_quick.yaml", folder)
    assert runner.invoke(args=["questionnaires", "load", "--dir", str(folder)]).exit_code == 0
    units.import_units([{"code": "C", "name_vi": "Xã Đông", "name_en": "East commune",
                         "kind": "commune", "parent_code": ""}])  # fmt: skip
    desks.create_desk("Q-C", "C", "Quầy xã Đông")
    page = client.get("/kiosk/Q-C").get_data(as_text=True)
    config = json.loads(
        re.search(r'id="kiosk-config">(.*?)</script>', page, re.S).group(1)  # type: ignore[union-attr]
    )
    url = config["audio"]["vi"]["Rất hài lòng"]
    assert url.startswith("/kiosk/audio/") and url.endswith(".mp3")
    assert "Tap the face that fits best." in config["audio"]["en"]
    with client.get(url) as served:
        assert served.status_code == 200 and served.mimetype == "audio/mpeg"
        assert "immutable" in served.headers["Cache-Control"]
        assert "max-age=31536000" in served.headers["Cache-Control"]
        assert soundfile.info(io.BytesIO(served.data)).format == "MP3"
        whole, etag = served.data, served.headers["ETag"]
    # Browsers fetch audio in ranges and revalidate by ETag.
    with client.get(url, headers={"Range": "bytes=4-11"}) as part:
        assert part.status_code == 206 and part.data == whole[4:12]
        assert part.headers["Content-Range"] == f"bytes 4-11/{len(whole)}"
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    for bad in ("manifest.json", "..%2Fdb.sqlite", "nothing.wav", ".hidden"):
        assert client.get("/kiosk/audio/" + bad).status_code == 404
    # The phone page lists its texts' files for its speaker button.
    phone = client.get("/s/Q-C").get_data(as_text=True)
    assert 'data-listen data-urls="[&#34;/kiosk/audio/' in phone


def test_the_admins_reload_makes_the_audio_too(app: Flask, tmp_path: Path) -> None:
    from survey_app.admin import accounts
    from survey_app.admin import console as admin
    from survey_app.models import Role

    small_questionnaire(tmp_path)
    app.config["QUESTIONNAIRE_DIR"] = str(tmp_path)
    root = accounts.create_user("root-admin", "correct-horse-battery", Role.ADMIN)
    report = admin.reload_questionnaires(root)
    assert report[0] == "tiny v1: đã nạp" and report[-1].startswith("âm thanh: ")  # vi: the default
    name = audio.read_manifest()["en"]["Are you satisfied?"]
    assert spoken_seconds(audio.folder() / name) > 0.5


def test_the_admins_reload_says_in_vietnamese_why_there_is_no_audio(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The questionnaires are loaded; the report's last line says why the audio is not."""
    from survey_app.admin import accounts
    from survey_app.admin import console as admin
    from survey_app.models import Role

    small_questionnaire(tmp_path)
    app.config["QUESTIONNAIRE_DIR"] = str(tmp_path)
    root = accounts.create_user("root-admin", "correct-horse-battery", Role.ADMIN)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    report = admin.reload_questionnaires(root)
    assert report[0] == "tiny v1: đã nạp"
    assert report[-1].startswith("âm thanh: Chưa cài espeak-ng: hãy cài gói Debian espeak-ng")
