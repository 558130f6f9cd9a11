r"""What the experiment scripts (``run_scripts/``) share: today, making the language vectors that a
run's own split needs (:mod:`.vectors`)."""
