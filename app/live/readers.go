package live

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// Reader counts across processes: each hub publishes its own counts on
// live.readers.<process> (core NATS, not stored) when they change and
// every countsEvery, and sums what the others published; a process not
// heard from for countsExpire stops counting.
const (
	readersPrefix  = "live.readers."
	countsEvery    = 5 * time.Second
	countsExpire   = 15 * time.Second
	countsDebounce = 100 * time.Millisecond
	topPosts       = 20
)

// countsMessage is what a process publishes on live.readers.<process>.
type countsMessage struct {
	Posts map[string]int `json:"posts"`
	At    time.Time      `json:"at"`
}

// remoteCounts are another process's counts, as last heard.
type remoteCounts struct {
	posts map[string]int
	seen  time.Time
}

// readerCounts keeps this process's readers of each post and the other
// processes' ones, and tells the streams when the sums change.
type readerCounts struct {
	h       *Hub
	subject string
	sub     *nats.Subscription
	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{}

	mu     sync.Mutex
	local  map[string]int
	remote map[string]*remoteCounts
	dirty  bool           // local changed since last published
	sums   map[string]int // the sums last told to streams
}

// startReaderCounts subscribes to the other processes' counts and starts
// the loop that publishes this one's.
func startReaderCounts(h *Hub) (*readerCounts, error) {
	c := &readerCounts{
		h: h, subject: readersPrefix + h.cfg.Process,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		local: map[string]int{}, remote: map[string]*remoteCounts{}, sums: map[string]int{},
	}
	sub, err := h.cfg.NC.Subscribe(readersPrefix+"*", c.heard)
	if err != nil {
		return nil, fmt.Errorf("subscribe %s*: %w", readersPrefix, err)
	}
	c.sub = sub
	go c.loop()
	return c, nil
}

// heard takes another process's counts.
func (c *readerCounts) heard(msg *nats.Msg) {
	process := strings.TrimPrefix(msg.Subject, readersPrefix)
	if process == c.h.cfg.Process {
		return
	}
	var m countsMessage
	if err := json.Unmarshal(msg.Data, &m); err != nil {
		c.h.log.Debug("live: reader counts", "subject", msg.Subject, "err", err)
		return
	}
	c.mu.Lock()
	if len(m.Posts) == 0 {
		delete(c.remote, process)
	} else {
		c.remote[process] = &remoteCounts{posts: m.Posts, seen: time.Now()}
	}
	c.mu.Unlock()
	c.poke()
}

// add changes this process's readers of post by delta.
func (c *readerCounts) add(post string, delta int) {
	c.mu.Lock()
	if c.local[post] += delta; c.local[post] <= 0 {
		delete(c.local, post)
	}
	c.dirty = true
	c.mu.Unlock()
	c.poke()
}

func (c *readerCounts) poke() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// readers is the sum over processes of the readers of post.
func (c *readerCounts) readers(post string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.local[post]
	for _, r := range c.remote {
		n += r.posts[post]
	}
	return n
}

// total is the sum over processes and posts.
func (c *readerCounts) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.local {
		n += v
	}
	for _, r := range c.remote {
		for _, v := range r.posts {
			n += v
		}
	}
	return n
}

// loop publishes this process's counts (debounced, and every countsEvery),
// forgets silent processes, and tells the streams of changed sums.
func (c *readerCounts) loop() {
	defer close(c.done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	pending := false
	lastSent := time.Time{}
	for {
		select {
		case <-c.stop:
			return
		case <-c.kick:
			if !pending {
				pending = true
				debounce.Reset(countsDebounce)
			}
		case <-debounce.C:
			pending = false
			if c.takeDirty() {
				c.publish(false)
				lastSent = time.Now()
			}
			c.notify()
		case now := <-tick.C:
			c.expire(now)
			if now.Sub(lastSent) >= countsEvery {
				c.takeDirty()
				c.publish(false)
				lastSent = now
			}
			c.notify()
		}
	}
}

func (c *readerCounts) takeDirty() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.dirty
	c.dirty = false
	return d
}

// publish sends this process's counts; empty sends none (at Close).
func (c *readerCounts) publish(empty bool) {
	m := countsMessage{Posts: map[string]int{}, At: time.Now().UTC()}
	if !empty {
		c.mu.Lock()
		maps.Copy(m.Posts, c.local)
		c.mu.Unlock()
	}
	data, _ := json.Marshal(m)
	if err := c.h.cfg.NC.Publish(c.subject, data); err != nil {
		c.h.log.Debug("live: publish reader counts", "err", err)
	}
}

// expire forgets the processes not heard from for countsExpire.
func (c *readerCounts) expire(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for p, r := range c.remote {
		if now.Sub(r.seen) > countsExpire {
			delete(c.remote, p)
		}
	}
}

// notify sends a "readers" event to the streams of each post whose sum
// changed, and the summary to TopicReaders when anything did.
func (c *readerCounts) notify() {
	c.mu.Lock()
	sums := maps.Clone(c.local)
	for _, r := range c.remote {
		for p, n := range r.posts {
			if n > 0 {
				sums[p] += n
			}
		}
	}
	var changed []string
	for p, n := range sums {
		if c.sums[p] != n {
			changed = append(changed, p)
		}
	}
	for p := range c.sums {
		if _, ok := sums[p]; !ok {
			changed = append(changed, p)
		}
	}
	c.sums = sums
	c.mu.Unlock()
	if len(changed) == 0 {
		return
	}
	h := c.h
	h.mu.RLock()
	for _, p := range changed {
		if set := h.readersOf[p]; len(set) > 0 {
			frame := readersFrame(p, sums[p])
			for s := range set {
				s.deliver(frame, 0)
			}
		}
	}
	h.mu.RUnlock()
	h.Publish(TopicReaders, Event{Name: "readers", Data: summary(sums)})
}

// summary is the data of a TopicReaders event: the total and the top
// posts.
func summary(sums map[string]int) []byte {
	total := 0
	for _, n := range sums {
		total += n
	}
	posts := slices.SortedFunc(maps.Keys(sums), func(a, b string) int {
		return cmp.Or(cmp.Compare(sums[b], sums[a]), strings.Compare(a, b))
	})
	top := map[string]int{}
	for _, p := range posts[:min(len(posts), topPosts)] {
		top[p] = sums[p]
	}
	data, _ := json.Marshal(struct {
		Total int            `json:"total"`
		Posts map[string]int `json:"posts"`
	}{total, top})
	return data
}

// close stops the loop, tells the other processes this one has no
// readers any more and stops listening to theirs.
func (c *readerCounts) close() {
	close(c.stop)
	<-c.done
	c.publish(true)
	_ = c.sub.Unsubscribe()
	_ = c.h.cfg.NC.FlushTimeout(2 * time.Second)
}
