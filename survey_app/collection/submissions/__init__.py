"""Accepting a citizen's response from the kiosk, the phone form or the JSON API.

:func:`.entry.submit` is the one entry point: it checks the rate limit, authenticates a
kiosk, validates every field (naming each bad one), resolves the wave, refuses a
second response for the same dossier, flags bursts of identical answers, and stores
the response whole, exactly once (:func:`survey_app.collection.responses.store`). On
PostgreSQL, once a worker has seen a desk's context (desk, questionnaire, wave) that
day, the desk's next responses are checked, flagged and stored by one autocommit
statement (:func:`.sql.insert_statement`) that checks the context again and stores
nothing if it changed; the request then goes the general way, so both ways answer
alike (``tests/web/test_submission_paths.py``). It returns a
:class:`.result.SubmitResult` (an HTTP status and a JSON body) and raises nothing for
anything a client can get wrong, so the API view and the server-rendered phone form
share one behaviour.

Files
-----
- ``entry.py``: :func:`submit`, the order of the steps below and the general way of
  storing.
- ``body.py``: the HTTP body (JSON, UTF-8, an object) of the API.
- ``fields.py``: every field checked, each bad one named (422), and the response to
  store when none is; ``messages.py`` says each error code in words.
- ``schema.py``: the shape of a submission, validated with the JSON Schema of the
  OpenAPI document (:mod:`survey_app.openapi.submissions`), the one source of both.
- ``context.py``: the desk, questionnaire and wave a payload names, in one query.
- ``times.py``: ISO 8601 times, their bounds and the local day.
- ``dossiers.py``: dossier codes, their keyed hash and the 503 without the right key.
- ``rate_limit.py``: the per-device / per-address limit (429).
- ``burst.py``: the burst rule in Python.
- ``fast_path.py``: PostgreSQL's single statement per response for known contexts.
- ``inbox.py``: with ``SUBMISSION_INBOX`` (PostgreSQL), moving the responses that
  statement acknowledged from ``response_inbox`` into ``responses``, burst flags decided.
- ``sql.py``: the statements (context lookup, wave rule, burst rule in SQL, insert);
  ``prepared.py`` runs the insert as a prepared statement on the raw driver.
- ``result.py``: what the client is answered (status, body, headers).

Direction inside: ``entry`` imports the others; ``fast_path`` imports ``context``,
``rate_limit``, ``burst`` and ``prepared``; ``inbox`` imports ``sql``, ``burst`` and
``times``; ``fields`` imports ``schema``,
``messages``, ``context``, ``dossiers`` and ``times``; ``context`` imports ``schema``
and ``sql``; ``prepared`` imports ``sql``; ``result``, ``times``, ``schema``,
``messages`` and ``sql`` import no sibling. Nothing here imports ``entry``.

Rules
-----
- Idempotency: the client's ``id`` (a UUID) identifies the response. The same id with
  the same content is a retry (200, nothing stored again); with different content it
  is a conflict (409). The wave and the burst flag are decided by the server and are
  not part of the content, so a retry is recognised even if a wave was created since.
- Dossier codes (mã hồ sơ): only an HMAC-SHA256 of the normalised code is stored, keyed
  by the installation's dossier key (``DOSSIER_HASH_KEY`` or ``instance/dossier_key``,
  :mod:`survey_app.collection.dossier_key`). A second response for the same dossier is
  refused (409 ``duplicate_dossier``). While the key is not the one the stored data was
  recorded with (its fingerprint in ``app_settings``), every submission is refused
  (503 ``dossier_key_missing`` / ``dossier_key_mismatch``) and nothing is stored.
  The content hash leaves the keyed dossier hash out (the dossier is compared by its
  own column), so it depends on no secret.
- Rate limit: per kiosk device token (``RATELIMIT_SUBMIT_KIOSK``) when the request
  carries a valid one, otherwise per client address (``RATELIMIT_SUBMIT_PHONE``;
  requests with an invalid token in a separate bucket), in Flask-Limiter's shared
  storage with its strategy; every attempt counts, valid or not.
- Bursts: when a desk has received ``BURST_COUNT`` identical answer sets (this one
  included) to one questionnaire in one wave whose ``submitted_at`` times fit in
  ``BURST_WINDOW_S`` seconds, the response is still stored (201) but with
  ``flagged=True`` and ``flag_reason="burst"`` for the survey team to review. The
  client is not told. ``BURST_COUNT`` 0 turns this off.
- Times: ISO 8601 with an offset, stored in UTC. ``submitted_at`` may lie in the past
  (offline queues) but not more than :data:`.times.MAX_CLOCK_SKEW` in the future.
"""
