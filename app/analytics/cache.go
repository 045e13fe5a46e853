package analytics

import (
	"net/netip"
	"strings"
	"sync"
	"time"
)

// visitorCache remembers the visitors known to be in daily_visitors, by
// day, so a returning visitor costs no insert. It holds only what committed
// transactions stored, and forgets whole days: those older than the salts
// kept, and everything when it grows past maxCachedVisitors.
type visitorCache struct {
	mu    sync.Mutex
	byDay map[string]map[string]struct{}
	n     int
}

// maxCachedVisitors bounds the visitor cache (about 60 MB at its fullest).
const maxCachedVisitors = 1 << 20

// visitorKey is the cache key of visitor on day: the day (10 bytes) first.
func visitorKey(day, visitor string) string { return day + visitor }

// has reports whether key (visitorKey) is known to be stored.
func (c *visitorCache) has(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.byDay[key[:len(time.DateOnly)]][key[len(time.DateOnly):]]
	return ok
}

// keep remembers keys a committed transaction stored, forgetting the days
// before oldest.
func (c *visitorCache) keep(keys map[string]struct{}, oldest string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byDay == nil || c.n+len(keys) > maxCachedVisitors {
		c.byDay, c.n = map[string]map[string]struct{}{}, 0
	}
	for day, m := range c.byDay {
		if day < oldest {
			c.n -= len(m)
			delete(c.byDay, day)
		}
	}
	for key := range keys {
		day, v := key[:len(time.DateOnly)], key[len(time.DateOnly):]
		m := c.byDay[day]
		if m == nil {
			m = map[string]struct{}{}
			c.byDay[day] = m
		}
		if _, ok := m[v]; !ok {
			m[v] = struct{}{}
			c.n++
		}
	}
}

// agentCache remembers parsed user agents: a site's readers use a few
// thousand distinct ones, and parsing one costs dozens of substring scans.
type agentCache struct {
	mu sync.Mutex
	m  map[string]Agent
}

// maxCachedAgents bounds the agent cache; past it the cache starts over.
const maxCachedAgents = 8192

// parse is ParseAgent through the cache.
func (c *agentCache) parse(ua string) Agent {
	c.mu.Lock()
	a, ok := c.m[ua]
	c.mu.Unlock()
	if ok {
		return a
	}
	a = ParseAgent(ua)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedAgents {
		c.m = map[string]Agent{}
	}
	// A decoded batch's strings share one copy of its payload: the key is
	// cloned, or each cached agent would keep a whole batch alive.
	c.m[strings.Clone(ua)] = a
	c.mu.Unlock()
	return a
}

// readerKey identifies a reader on a day, before the visitor id is hashed.
type readerKey struct {
	day string
	ip  netip.Addr
	ua  string
}

// dayNames is dayOf with the last answer remembered: the views of a batch
// mostly fall on one day.
type dayNames struct {
	num  int64 // Unix day of name
	name string
}

func (d *dayNames) of(t time.Time) string {
	num := t.Unix() / 86400
	if t.Unix() < 0 && t.Unix()%86400 != 0 {
		num-- // floor, for times before 1970
	}
	if d.name == "" || num != d.num {
		d.num, d.name = num, dayOf(t)
	}
	return d.name
}
