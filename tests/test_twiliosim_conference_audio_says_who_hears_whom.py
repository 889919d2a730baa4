"""The conference audio model (twiliosim/conferences.py): who hears whom in a room, what each call
hears (the conference, hold music, wait music, silence), and the timeline that lets a test ask
afterwards. Held: the caller hears hold music and the two agents consult without them. Coach
(whisper): the coached agent hears the supervisor, the caller does not. Barge: all hear. Muted:
nobody hears the muted one, who still hears the others."""
from __future__ import annotations

from tests import test_twiliosim_verbs_fixtures as shared
from tests.test_twiliosim_rest_fixtures import wait_until
from tests.test_twiliosim_verbs_fixtures import AGENT_LINE, CALLER, JOIN, NUMBER, R
from twiliosim import CallerScript
from twiliosim.conferences import conferences, what_hears, who_hears

# The shared fixtures, found by pytest under these names in this module.
server, sim = shared.server, shared.sim
SECOND_AGENT_LINE = "+15005550008"
SUPERVISOR_LINE = "+15005550009"


def enter(sim, server, number: str, twiml, script: CallerScript | None = None):
    path = f"/voice-{number[-4:]}"
    server.route(path, twiml)
    sim.number(number, voice_url=server.url(path))
    return sim.dial(number, from_=CALLER, script=script or CallerScript(hangup_after=60))


def room_with(sim, server, *numbers, name: str = "call-9"):
    calls = [enter(sim, server, numbers[0], R(f'<Dial><Conference endConferenceOnExit="true" beep="false" '
                                              f'startConferenceOnEnter="false">{name}</Conference></Dial>'))]
    room = wait_until(lambda: conferences(sim).live_named(name), what="the room")
    wait_until(lambda: room.connected(), what="the caller in the room")
    for count, number in enumerate(numbers[1:], start=2):
        calls.append(enter(sim, server, number, R(f'<Dial><Conference beep="false">{name}</Conference></Dial>')))
        wait_until(lambda: len(room.connected()) == count, what="the agent in the room")  # noqa: B023 (waited here)
    return room, calls


def test_before_the_start_everyone_hears_the_wait_music_and_nobody_else(sim, server):
    room, (caller,) = room_with(sim, server, NUMBER)
    assert room.status == "init" and room.what_hears(caller.sid) == "wait-music"
    assert what_hears(sim, caller.sid) == "wait-music" and who_hears(room, caller.sid) == set()
    wait_until(lambda: caller.events("play"), what="the default wait music")
    assert "twimlets.com/holdmusic" in caller.events("play")[0]["url"]
    caller.hang_up()
    assert caller.join(JOIN) and room.status == "completed" and what_hears(sim, caller.sid) == "silence"


def test_a_held_caller_hears_hold_music_while_the_two_agents_consult(sim, server):
    server.route("/hold", R("<Say>please hold while I check</Say>"))
    room, (caller, billing, tech) = room_with(sim, server, NUMBER, AGENT_LINE, SECOND_AGENT_LINE)
    assert room.status == "in-progress"
    assert room.who_hears(caller.sid) == {billing.sid, tech.sid}

    room.update(caller.sid, hold=True, hold_url=server.url("/hold"))
    assert room.what_hears(caller.sid) == "hold-music" and room.hears(caller.sid) == set()
    assert room.who_hears(caller.sid) == set()
    assert room.who_hears(billing.sid) == {tech.sid} and room.who_hears(tech.sid) == {billing.sid}
    wait_until(lambda: "please hold while I check" in caller.said(), what="the HoldUrl document")
    assert server.to("/hold")[0]["method"] == "GET"          # HoldMethod defaults to GET

    room.update(caller.sid, hold=False)
    assert room.what_hears(caller.sid) == "conference" and room.hears(caller.sid) == {billing.sid, tech.sid}
    room.leave(billing.sid, "participant_removed_via_api")   # the billing agent leaves the caller to tech
    assert room.status == "in-progress" and room.who_hears(caller.sid) == {tech.sid}
    assert billing.join(JOIN)

    # After the fact: the timeline says the caller never heard the consult, and heard music meanwhile.
    held = [snap for snap in room.timeline if snap["what"].get(caller.sid) == "hold-music"]
    assert held and all(snap["hears"][caller.sid] == () for snap in held)
    assert all(caller.sid not in snap["hears"][billing.sid] for snap in held)
    heard = [what for _, what, _ in room.audio_of(caller.sid)]
    assert [w for i, w in enumerate(heard) if i == 0 or heard[i - 1] != w] == [
        "wait-music", "conference", "hold-music", "conference"]
    logged = [(e["what"], tuple(e["hears"])) for e in caller.events("conference_audio")]
    assert ("hold-music", ()) in logged and logged[-1] == ("conference", (tech.sid,))
    caller.hang_up()
    assert caller.join(JOIN) and tech.join(JOIN) and room.status == "completed"


def test_whisper_reaches_the_agent_only_then_barge_reaches_all_and_mute_silences(sim, server):
    room, (caller, agent) = room_with(sim, server, NUMBER, AGENT_LINE)
    supervisor = enter(sim, server, SUPERVISOR_LINE, lambda req: R(
        f'<Dial><Conference coach="{agent.sid}" beep="false">call-9</Conference></Dial>'))
    wait_until(lambda: len(room.connected()) == 3, what="the supervisor in the room")

    # Whisper: the agent hears the supervisor, the caller does not; the supervisor hears both.
    assert room.who_hears(supervisor.sid) == {agent.sid}
    assert room.hears(caller.sid) == {agent.sid} and room.hears(agent.sid) == {caller.sid, supervisor.sid}
    assert room.hears(supervisor.sid) == {caller.sid, agent.sid}

    # Barge: everyone hears the supervisor.
    room.update(supervisor.sid, coaching=False)
    assert room.who_hears(supervisor.sid) == {agent.sid, caller.sid}

    # Listen: muted, the supervisor is heard by nobody and still hears both.
    room.update(supervisor.sid, muted=True)
    assert room.who_hears(supervisor.sid) == set() and room.hears(supervisor.sid) == {caller.sid, agent.sid}

    # A muted agent: the caller no longer hears them; they still hear the caller.
    room.update(agent.sid, muted=True)
    assert room.who_hears(agent.sid) == set() and room.hears(agent.sid) == {caller.sid}
    room.update(agent.sid, muted=False)

    # The timeline: the caller heard the supervisor only after the barge; the agent from the start.
    whisper = next(i for i, snap in enumerate(room.timeline) if supervisor.sid in snap["hears"])
    barge = next(i for i, snap in enumerate(room.timeline) if snap["why"] == "participant-modify")
    assert all(supervisor.sid not in snap["hears"][caller.sid] for snap in room.timeline[whisper:barge])
    assert supervisor.sid in room.timeline[whisper]["hears"][agent.sid]
    assert supervisor.sid in room.timeline[barge]["hears"][caller.sid]
    assert room.heard(caller.sid, supervisor.sid) and room.heard(agent.sid, supervisor.sid)

    caller.hang_up()                            # endConferenceOnExit: the room ends, everyone leaves
    assert caller.join(JOIN) and agent.join(JOIN) and supervisor.join(JOIN)
    assert room.status == "completed" and room.reason_ended == "participant-with-end-conference-on-exit-left"
