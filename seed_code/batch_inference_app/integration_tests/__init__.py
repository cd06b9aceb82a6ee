"""Smoke tests of a deployed stage, run by the deploy pipeline's test build (buildspec-test.yml)."""
