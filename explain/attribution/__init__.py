"""Attributions: the method registry and `attribute` (methods), the shared preparation (core), the Captum
calls (captum_methods), layer attributions and head importance (layers), and faithfulness checks."""
