def test_demo_menu(twilio, staffed):
    call = twilio.call(from_="+14155550100").dial()
    assert "Hello Dana, thanks for calling Acme." in call.says
    assert call.verbs == ["Say", "Gather", "Redirect"]
    call.press("1")
    assert call.verbs == ["Say", "Enqueue"]
