"""The trainings linter: findings a user can fix before the trainings reach a call."""
