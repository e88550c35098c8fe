"""The analysts' sandbox: JupyterHub pieces that spawn hardened, no-egress containers.

spawner.GrantedDockerSpawner (mounts only what a grant allows), network (one --internal network
per sandbox + host firewall), mounts (data folders, projections, workspaces), auth
(EnclaveAuthenticator), form (spawn form), reaper (revocation/expiry), settings (hub knobs).
See docs/sandbox.md.
"""
