"""prosody's command line (installed as the ``prosody_cli`` package)."""
