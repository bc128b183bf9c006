"""The Stress tests page: behavioural test suites (explain.behaviour) run on the sidebar's classifier."""
