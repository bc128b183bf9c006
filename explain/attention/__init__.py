"""Attention: maps, rollout and flow (maps), head statistics, one head's arithmetic (head_math), and the
two HTML views, the light all-heads viewer (payload, viewer) and bertviz offline (bertviz_offline)."""
