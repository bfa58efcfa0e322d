"""Tests of mailer/bench/: the benchmark runs end to end."""
