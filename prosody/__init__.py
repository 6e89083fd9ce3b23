"""prosody: on-device voice-tone and speech-dynamics analysis for psychotherapists."""
__version__ = "0.1.0"
