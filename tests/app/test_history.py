def test_history_shows_who_changed_an_invoice(page):
    at = page("leader", "pages/history.py")
    assert not at.exception
    at.selectbox(key="history-entity").select("invoice").run()
    at.number_input(key="history-id").set_value(1).run()
    assert not at.exception
    df = at.dataframe[0].value
    assert "Invoice issued" in set(df["Action"]) and "finance" in set(df["Who"])
