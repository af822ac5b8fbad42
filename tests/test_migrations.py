def test_models_and_migrations_do_not_drift(runner):
    """``flask db check`` against the database the migrations built (the app fixture)."""
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output
