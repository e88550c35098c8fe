"""Batch product builds: a pinned notebook run by papermill on a grant's REAL data in a container
with no network; its outputs go straight to the airlock. Recurring products are contracts.

Modules: :mod:`params` (parameter rules), :mod:`states` (the one state table), :mod:`service`
(submit, status, list, cancel, logs), :mod:`runner` (the container run), :mod:`worker` (the queue
and the contract scheduler), :mod:`contracts` (product contracts and their review route).
"""
