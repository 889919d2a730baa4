-- The agent's leg ended after talking: talk time is counted and the agent enters wrap-up.
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets   ARGV[4] id nonce   ARGV[5] call sid
-- Idempotent (the caller's hang-up and the agent's leg both end a call). Returns 1 or 0.
return end_talk(ARGV[5])
