"""The airlock: the only door out of Enclave.

An analyst asks to take files out of their sandbox's outbox (an export request). The host copies
them into quarantine (:mod:`hub.airlock.quarantine`), the egress filter scans them, operator
reviewers decide, and approved files become a signed secondary product
(:mod:`hub.airlock.release`).

Rooms:

* :mod:`hub.airlock.states` — the ONE table of request states, transitions and who may trigger each;
* :mod:`hub.airlock.permissions` — the ONE place that says whether an actor may do something to a
  request (a requester, or anyone of the requester's org, can never review);
* :mod:`hub.airlock.service` — the operations (submit, scan, decide, release, revoke, download,
  resume), each step one database transaction plus idempotent file operations;
* :mod:`hub.airlock.quarantine` — host-side copy out of an outbox;
* :mod:`hub.airlock.release` — bundle manifests, Ed25519 signing and offline verification.
"""
