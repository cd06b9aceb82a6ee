"""What the deploy apps of the project templates share: environment settings, stage networks, AWS look-ups."""
