// The session store's Redis scripts: each one atomic step, one Redis request. Every key the caller
// can name is passed in KEYS; keys that only stored data can name (the owner of a session, the
// members of an index) are derived inside from the namespace prefix, as the header of each script
// says. Each KEY and ARGV has its own line. Replies are JSON text (cjson), never Lua tables with
// holes. They run through runScript (lib/platform/redis.ts): EVALSHA, with EVAL on NOSCRIPT.
//
// Keys under the prefix: s:<id> a session (hash), ps:<person> the person's sessions (sorted set,
// score = created at), p:<person> the person's card {rev, card} or tombstone {into}, b:<person>
// present while the person may not hold sessions (suspended, being deleted), and rate-limit counters.

/** Shared Lua: the person that `person` is now (tombstones left by merges point at the survivor). */
const LIVE_PERSON = `
local function livePerson(prefix, person)
  for _ = 1, 8 do
    local into = redis.call('HGET', prefix .. 'p:' .. person, 'into')
    if not into then return person end
    person = into
  end
  return person
end
`;

/** Shared Lua: a sliding window over two fixed windows, the previous one weighted by what is left of it. */
const SLIDING_WINDOW = `
local function estimate(current, previous, now, windowMs)
  local elapsed = (now % windowMs) / windowMs
  return previous * (1 - elapsed) + current
end
`;

/** Shared Lua: which candidate key (KEYS) holds the token's session, and its owner. */
const FIND_SESSION = `
local function findSession()
  for i = 1, #KEYS do
    local person = redis.call('HGET', KEYS[i], 'person')
    if person then return i, person end
  end
end
`;

/** Shared Lua: ends every session of a person. */
const END_ALL = `
local function endAll(prefix, person)
  local index = prefix .. 'ps:' .. person
  local ended = 0
  for _, id in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    ended = ended + redis.call('DEL', prefix .. 's:' .. id)
  end
  redis.call('DEL', index)
  return ended
end
`;

/**
 * The login's one request: saves a new session, indexes it under its owner (ending the oldest past
 * the per-app cap and dropping ids that expired), caches the owner's card, and counts the login
 * against the account's limit. Refused while the owner is blocked. Redis writes land in any order
 * relative to Postgres commits: a login that read Postgres before a merge can write after it, hence
 * tombstones and card revisions. Derived keys: the survivor's p:, ps:, b: when the owner was
 * folded meanwhile; the folded person's when this login merged one; s: of indexed sessions.
 */
export const CREATE_SESSION = `${LIVE_PERSON}${SLIDING_WINDOW}
local sessionKey = KEYS[1]
local loginsNow = KEYS[2]        -- this account's logins in the current window
local loginsBefore = KEYS[3]     -- and in the previous one
local prefix = ARGV[1]
local id = ARGV[2]
local personId = ARGV[3]         -- the owner as the login's Postgres write saw them
local appid = ARGV[4]
local openid = ARGV[5]
local now = tonumber(ARGV[6])
local expiresAt = tonumber(ARGV[7])
local idleTtlMs = tonumber(ARGV[8])   -- this session's own (its channel's)
local sealedSessionKey = ARGV[9]      -- '' on the web: no session_key there
local card = ARGV[10]
local revision = tonumber(ARGV[11])
local foldedId = ARGV[12]        -- '' unless this login merged that person into personId
local maxSessions = tonumber(ARGV[13])  -- per person and mini program; on the web per person
local loginLimit = tonumber(ARGV[14])   -- 0: no limit
local windowMs = tonumber(ARGV[15])
local channel = ARGV[16]         -- 'miniprogram' or 'web'

local function keepUntil(key, at)
  local left = redis.call('PTTL', key)
  if left ~= -2 and now + left < at then redis.call('PEXPIREAT', key, at) end
end

local owner = livePerson(prefix, personId)
if redis.call('EXISTS', prefix .. 'b:' .. personId, prefix .. 'b:' .. owner) > 0 then
  return cjson.encode({ outcome = 'blocked' })
end

if loginLimit > 0 then
  local count = estimate(tonumber(redis.call('GET', loginsNow) or 0), tonumber(redis.call('GET', loginsBefore) or 0), now, windowMs)
  if count >= loginLimit then
    return cjson.encode({ outcome = 'limited', limit = loginLimit, retryMs = windowMs - now % windowMs })
  end
  redis.call('INCR', loginsNow)
  redis.call('PEXPIRE', loginsNow, 2 * windowMs)
end

if foldedId ~= '' then
  local foldedIndex = prefix .. 'ps:' .. foldedId
  local entries = redis.call('ZRANGE', foldedIndex, 0, -1, 'WITHSCORES')
  for i = 1, #entries, 2 do
    local key = prefix .. 's:' .. entries[i]
    if redis.call('EXISTS', key) == 1 then
      redis.call('HSET', key, 'person', owner)
      redis.call('ZADD', prefix .. 'ps:' .. owner, entries[i + 1], entries[i])
    end
  end
  redis.call('DEL', foldedIndex, prefix .. 'p:' .. foldedId)
  redis.call('HSET', prefix .. 'p:' .. foldedId, 'into', owner)
  redis.call('PEXPIREAT', prefix .. 'p:' .. foldedId, expiresAt)
end

local personKey = prefix .. 'p:' .. owner
if owner == personId and (tonumber(redis.call('HGET', personKey, 'rev')) or 0) <= revision then
  redis.call('HSET', personKey, 'rev', revision, 'card', card)
end
keepUntil(personKey, expiresAt)

redis.call('HSET', sessionKey, 'person', owner, 'app', appid, 'oid', openid, 'iat', now, 'exp', expiresAt,
  'seen', now, 'sk', sealedSessionKey, 'ch', channel, 'idle', idleTtlMs)
redis.call('PEXPIRE', sessionKey, math.min(idleTtlMs, expiresAt - now))

local index = prefix .. 'ps:' .. owner
redis.call('ZADD', index, now, id)
local sameGroup = {}
for _, member in ipairs(redis.call('ZRANGE', index, 0, -1)) do
  local found = redis.call('HMGET', prefix .. 's:' .. member, 'app', 'ch')
  local memberChannel = found[2] or 'miniprogram'
  if not found[1] then
    redis.call('ZREM', index, member)
  elseif memberChannel == channel and (channel == 'web' or found[1] == appid) then
    sameGroup[#sameGroup + 1] = member
  end
end
local evicted = 0
for i = 1, #sameGroup - maxSessions do
  redis.call('DEL', prefix .. 's:' .. sameGroup[i])
  redis.call('ZREM', index, sameGroup[i])
  evicted = evicted + 1
end
keepUntil(index, expiresAt)
return cjson.encode({ outcome = 'created', evicted = evicted })
`;

/**
 * The one request behind every authenticated call: the session and its owner's card. In 'use'
 * mode it also counts the request against the session's limit (counters live in the session
 * itself) and pushes the idle expiry back; 'peek' writes nothing. An unknown token writes nothing
 * either. Derived keys: p: and b: of the session's owner.
 */
export const AUTHENTICATE = `${LIVE_PERSON}${SLIDING_WINDOW}
-- KEYS: the token's session key under each configured encryption key, the current key first.
local prefix = ARGV[1]
local now = tonumber(ARGV[2])
local mode = ARGV[3]             -- 'use' or 'peek'
local defaultIdleTtlMs = tonumber(ARGV[4])  -- for sessions stored before each carried its own
local renewIntervalMs = tonumber(ARGV[5])   -- push the idle expiry back at most this often (and every half idle lifetime)
local limit = tonumber(ARGV[6])         -- requests per window and session; 0: no limit
local windowMs = tonumber(ARGV[7])

local key, found
for i = 1, #KEYS do
  found = redis.call('HMGET', KEYS[i], 'person', 'app', 'oid', 'iat', 'exp', 'seen', 'sk', 'rw', 'rc', 'rp', 'ch', 'idle')
  if found[1] then key = i break end
end
if not key then return false end
local expiresAt = tonumber(found[5])
if expiresAt <= now then return false end
local person = livePerson(prefix, found[1])
if redis.call('EXISTS', prefix .. 'b:' .. person) == 1 then return false end
local card = redis.call('HGET', prefix .. 'p:' .. person, 'card')
if not card then return false end

local idleTtlMs = tonumber(found[12]) or defaultIdleTtlMs
local reply = { key = key, person = person, appid = found[2], openid = found[3], createdAt = tonumber(found[4]),
  expiresAt = expiresAt, lastSeenAt = tonumber(found[6]), sealedSessionKey = found[7], card = card,
  channel = found[11] or 'miniprogram', idleTtlMs = idleTtlMs }
if mode == 'use' then
  if limit > 0 then
    local window = math.floor(now / windowMs)
    local current, previous = tonumber(found[9]) or 0, tonumber(found[10]) or 0
    local counted = tonumber(found[8])
    if counted ~= window then
      previous = (counted == window - 1) and current or 0
      current = 0
    end
    local count = estimate(current, previous, now, windowMs)
    reply.limit = { limit = limit, remaining = math.max(0, math.floor(limit - count - 1)), resetMs = windowMs - now % windowMs }
    if count >= limit then
      reply.limit.remaining = 0
      reply.limited = true
      return cjson.encode(reply)
    end
    redis.call('HSET', KEYS[key], 'rw', window, 'rc', current + 1, 'rp', previous)
  end
  if now - reply.lastSeenAt >= math.min(renewIntervalMs, idleTtlMs / 2) then
    redis.call('HSET', KEYS[key], 'seen', now)
    redis.call('PEXPIRE', KEYS[key], math.min(idleTtlMs, expiresAt - now))
    reply.lastSeenAt = now
  end
end
return cjson.encode(reply)
`;

/** Ends one session. Derived key: ps: of its owner. */
export const END_SESSION = `${FIND_SESSION}
-- KEYS: the token's session key under each configured encryption key.
local prefix = ARGV[1]
local key, person = findSession()
if not key then return 0 end
redis.call('DEL', KEYS[key])
redis.call('ZREM', prefix .. 'ps:' .. person, string.sub(KEYS[key], #prefix + 3))
return 1
`;

/** Ends every session of the token's owner, the token's own included. Derived keys: ps: and s: of the owner's sessions. */
export const END_ALL_OF_TOKEN = `${FIND_SESSION}${END_ALL}
-- KEYS: the token's session key under each configured encryption key.
local prefix = ARGV[1]
local key, person = findSession()
if not key then return -1 end
redis.call('DEL', KEYS[key])
return endAll(prefix, person) + 1
`;

/**
 * Ends every session of a person at once (operators, suspension, deletion), and with blockMs > 0
 * keeps new ones out that long: a login that read Postgres before the suspension committed cannot
 * leave a live session behind. Derived keys: s: of the person's sessions.
 */
export const END_ALL_OF_PERSON = `${END_ALL}
local blockKey = KEYS[1]
local prefix = ARGV[1]
local person = ARGV[2]
local blockMs = tonumber(ARGV[3])
if blockMs > 0 then redis.call('SET', blockKey, '1', 'PX', blockMs) end
return endAll(prefix, person)
`;

/** Lifts a block (the suspension was lifted). */
export const UNBLOCK = `
local blockKey = KEYS[1]
return redis.call('DEL', blockKey)
`;

/** The person's live sessions, oldest first; drops index entries whose session expired. Derived keys: s: of each. */
export const LIST_SESSIONS = `
local index = KEYS[1]
local prefix = ARGV[1]
local sessions = {}
for _, id in ipairs(redis.call('ZRANGE', index, 0, -1)) do
  local found = redis.call('HMGET', prefix .. 's:' .. id, 'app', 'iat', 'exp', 'seen', 'ch')
  if found[1] then
    sessions[#sessions + 1] = { id = id, appid = found[1], createdAt = tonumber(found[2]), expiresAt = tonumber(found[3]),
      lastSeenAt = tonumber(found[4]), idleExpiresIn = redis.call('PTTL', prefix .. 's:' .. id), channel = found[5] or 'miniprogram' }
  else
    redis.call('ZREM', index, id)
  end
end
if #sessions == 0 then return '[]' end
return cjson.encode(sessions)
`;

/** Ends one session if the person holds it. */
export const END_SESSION_OF_PERSON = `
local index = KEYS[1]
local sessionKey = KEYS[2]
local id = ARGV[1]
if not redis.call('ZSCORE', index, id) then return 0 end
redis.call('ZREM', index, id)
return redis.call('DEL', sessionKey)
`;

/** Drops a deleted person's card: the unionid, accounts and masked phone it holds. */
export const FORGET_PERSON = `
local personKey = KEYS[1]
return redis.call('DEL', personKey)
`;

/** Replaces a person's cached card unless it holds a newer revision; a person with none cached is left alone. */
export const SAVE_CARD = `
local personKey = KEYS[1]
local card = ARGV[1]
local revision = tonumber(ARGV[2])
local current = tonumber(redis.call('HGET', personKey, 'rev'))
if current and current <= revision then redis.call('HSET', personKey, 'rev', revision, 'card', card) end
return 1
`;

/** Counts one hit in a sliding window; refused hits are not counted. */
export const HIT = `${SLIDING_WINDOW}
local countNow = KEYS[1]         -- hits in the current window
local countBefore = KEYS[2]      -- and in the previous one
local limit = tonumber(ARGV[1])
local windowMs = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local count = estimate(tonumber(redis.call('GET', countNow) or 0), tonumber(redis.call('GET', countBefore) or 0), now, windowMs)
local resetMs = windowMs - now % windowMs
if count >= limit then return cjson.encode({ allowed = false, remaining = 0, resetMs = resetMs }) end
redis.call('INCR', countNow)
redis.call('PEXPIRE', countNow, 2 * windowMs)
return cjson.encode({ allowed = true, remaining = math.max(0, math.floor(limit - count - 1)), resetMs = resetMs })
`;
