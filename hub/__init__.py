"""Enclave control plane: catalog, grants, users and roles, audit log, CLI, JupyterHub integration."""

__version__ = "0.1.0"
