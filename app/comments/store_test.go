package comments_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"site/app/comments"
	"site/app/content"
	"site/app/store"
	"site/internal/testkit"
)

// fixture is data.db with one published post and two readers.
type fixture struct {
	db       *store.DB
	content  *content.Store
	comments *comments.Store
	post     *content.Post
	alice    int64
	bob      int64
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	db := testkit.DataDB(tb)
	f := &fixture{db: db, content: content.NewStore(db), comments: comments.NewStore(db)}
	f.post = f.addPost(tb, "hello")
	f.alice = f.addUser(tb, "alice@example.com", "Alice")
	f.bob = f.addUser(tb, "bob@example.com", "Bob")
	return f
}

func (f *fixture) addPost(tb testing.TB, slug string) *content.Post {
	tb.Helper()
	p := &content.Post{Kind: content.KindPost, Slug: slug, Title: "Post " + slug, Body: "Some text.",
		Status: content.StatusPublished, PublishedAt: time.Now().Add(-time.Hour)}
	if _, err := f.content.Save(context.Background(), p); err != nil {
		tb.Fatal(err)
	}
	return p
}

func (f *fixture) addUser(tb testing.TB, addr, name string) int64 {
	tb.Helper()
	var id int64
	if err := f.db.Write.QueryRow(`INSERT INTO users (address, display_name, created_at) VALUES (?, ?, 1) RETURNING id`,
		addr, name).Scan(&id); err != nil {
		tb.Fatal(err)
	}
	return id
}

func (f *fixture) add(tb testing.TB, c comments.Comment) comments.Comment {
	tb.Helper()
	if c.PostID == 0 {
		c.PostID = f.post.ID
	}
	if _, err := f.comments.Add(context.Background(), &c); err != nil {
		tb.Fatal(err)
	}
	return c
}

func (f *fixture) version(tb testing.TB) int64 {
	tb.Helper()
	v, err := f.content.Version(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

func (f *fixture) count(tb testing.TB) int {
	tb.Helper()
	n, err := f.comments.Counts(context.Background(), []int64{f.post.ID})
	if err != nil {
		tb.Fatal(err)
	}
	return n[f.post.ID]
}

func ids(list []comments.Comment) []int64 {
	var out []int64
	for _, c := range list {
		out = append(out, c.ID)
	}
	return out
}

func TestListShowsApprovedAndOwnHeldInThreadOrder(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.add(t, comments.Comment{UserID: f.alice, Author: "Alice", Body: "first *one*", Status: comments.Approved})
	b := f.add(t, comments.Comment{UserID: f.bob, Author: "Bob", Body: "held top", Status: comments.Held})
	c := f.add(t, comments.Comment{UserID: f.alice, Author: "Alice", Body: "second", Status: comments.Approved})
	r1 := f.add(t, comments.Comment{UserID: f.bob, Author: "Bob", Body: "reply to first", ParentID: a.ID, Status: comments.Approved})
	rBob := f.add(t, comments.Comment{UserID: f.bob, Author: "Bob", Body: "held reply", ParentID: a.ID, Status: comments.Held})
	rej := f.add(t, comments.Comment{UserID: f.alice, Author: "Alice", Body: "rejected", Status: comments.Rejected})
	f.add(t, comments.Comment{UserID: f.alice, Author: "Alice", Body: "reply to bob's held", ParentID: b.ID, Status: comments.Approved})

	anon, err := f.comments.List(ctx, f.post.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(anon), []int64{a.ID, r1.ID, c.ID}; !equal(got, want) {
		t.Fatalf("anonymous list = %v, want %v", got, want)
	}
	bob, err := f.comments.List(ctx, f.post.ID, f.bob)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(bob); len(got) != 6 || got[0] != a.ID || got[1] != r1.ID || got[2] != rBob.ID || got[3] != b.ID || got[5] != c.ID {
		t.Fatalf("bob's list = %v (a=%d r1=%d rBob=%d b=%d c=%d)", got, a.ID, r1.ID, rBob.ID, b.ID, c.ID)
	}
	for _, x := range bob {
		if x.ID == rej.ID {
			t.Fatal("a rejected comment is listed")
		}
	}
	if anon[0].HTML != "<p>first <em>one</em></p>" || anon[0].PostSlug != "hello" {
		t.Fatalf("stored html %q, slug %q", anon[0].HTML, anon[0].PostSlug)
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRepliesAreOneLevelOnTheSamePost(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	top := f.add(t, comments.Comment{UserID: f.alice, Author: "Alice", Body: "top", Status: comments.Approved})
	reply := f.add(t, comments.Comment{UserID: f.bob, Author: "Bob", Body: "reply", ParentID: top.ID, Status: comments.Approved})
	other := f.addPost(t, "other")
	for _, c := range []comments.Comment{
		{PostID: f.post.ID, UserID: f.alice, Author: "A", Body: "deeper", ParentID: reply.ID},
		{PostID: other.ID, UserID: f.alice, Author: "A", Body: "elsewhere", ParentID: top.ID},
		{PostID: f.post.ID, UserID: f.alice, Author: "A", Body: "nothing", ParentID: 99999},
	} {
		if _, err := f.comments.Add(ctx, &c); !errors.Is(err, comments.ErrBadParent) {
			t.Errorf("reply %q: err %v, want ErrBadParent", c.Body, err)
		}
	}
	// Deleting the top-level comment takes its replies with it.
	if err := f.comments.Delete(ctx, top.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.comments.Get(ctx, reply.ID); !errors.Is(err, comments.ErrNotFound) {
		t.Fatalf("reply after its parent's delete: %v", err)
	}
	if err := f.comments.Delete(ctx, top.ID); !errors.Is(err, comments.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

// The count on posts and the page cache's version follow what readers
// see, and only that.
func TestCountAndVersionFollowVisibleComments(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	v0 := f.version(t)
	held := f.add(t, comments.Comment{UserID: f.alice, Author: "Alice", Body: "held", Status: comments.Held})
	if f.version(t) != v0 || f.count(t) != 0 {
		t.Fatalf("a held comment moved the version (%d → %d) or the count (%d)", v0, f.version(t), f.count(t))
	}
	if _, err := f.comments.Edit(ctx, held.ID, "held, edited"); err != nil {
		t.Fatal(err)
	}
	if f.version(t) != v0 {
		t.Fatal("editing a held comment moved the version")
	}
	c, was, err := f.comments.SetStatus(ctx, held.ID, comments.Approved)
	if err != nil {
		t.Fatal(err)
	}
	if was != comments.Held || c.Status != comments.Approved || c.ApprovedAt.IsZero() {
		t.Fatalf("approve: was %s, now %+v", was, c)
	}
	v1 := f.version(t)
	if v1 <= v0 || f.count(t) != 1 {
		t.Fatalf("approval: version %d → %d, count %d", v0, v1, f.count(t))
	}
	edited, err := f.comments.Edit(ctx, held.ID, "now **bold**")
	if err != nil {
		t.Fatal(err)
	}
	v2 := f.version(t)
	if v2 <= v1 || edited.HTML != "<p>now <strong>bold</strong></p>" || edited.EditedAt.IsZero() {
		t.Fatalf("edit of a shown comment: version %d → %d, %+v", v1, v2, edited)
	}
	f.add(t, comments.Comment{UserID: f.bob, Author: "Bob", Body: "shown", Status: comments.Approved})
	if f.count(t) != 2 || f.version(t) <= v2 {
		t.Fatalf("approved insert: count %d", f.count(t))
	}
	if _, _, err := f.comments.SetStatus(ctx, held.ID, comments.Rejected); err != nil {
		t.Fatal(err)
	}
	if f.count(t) != 1 {
		t.Fatalf("after rejecting: count %d", f.count(t))
	}
	v3 := f.version(t)
	if _, _, err := f.comments.SetStatus(ctx, held.ID, comments.Held); err != nil {
		t.Fatal(err)
	}
	if f.version(t) != v3 || f.count(t) != 1 {
		t.Fatal("rejected → held moved the version or the count")
	}
	list, _ := f.comments.List(ctx, f.post.ID, 0)
	if err := f.comments.Delete(ctx, list[0].ID); err != nil {
		t.Fatal(err)
	}
	if f.count(t) != 0 || f.version(t) <= v3 {
		t.Fatalf("after deleting the shown one: count %d", f.count(t))
	}
	if err := f.comments.SetClosed(ctx, f.post.ID, true); err != nil {
		t.Fatal(err)
	}
	p, err := f.content.Get(ctx, content.KindPost, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if !p.CommentsClosed {
		t.Fatal("content.Post does not read the closed switch")
	}
	// The post goes, its comments with it.
	f.add(t, comments.Comment{UserID: f.bob, Author: "Bob", Body: "shown", Status: comments.Approved})
	if err := f.content.Delete(ctx, content.KindPost, "hello"); err != nil {
		t.Fatal(err)
	}
	if _, n, err := f.comments.Queue(ctx, comments.QueueQuery{}); err != nil || n != 0 {
		t.Fatalf("after the post's delete: %d comments, %v", n, err)
	}
}

func TestImportIsIdempotentAndSanitized(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := comments.Comment{PostID: f.post.ID, Author: "Old friend", HTML: `<p onclick="x()">hi <img src=x onerror=alert(1)><a href="javascript:alert(1)">j</a> <a href="https://e.org">e</a></p>`,
		Body: "hi", Status: comments.Approved, Source: comments.SourceWXR, SourceID: "wp-17",
		CreatedAt: time.Date(2015, 3, 1, 0, 0, 0, 0, time.UTC)}
	added, err := f.comments.Add(ctx, &c)
	if err != nil || !added {
		t.Fatalf("import: %v %v", added, err)
	}
	if want := `<p>hi j <a rel="nofollow ugc noopener" href="https://e.org">e</a></p>`; c.HTML != want {
		t.Fatalf("imported html %q, want %q", c.HTML, want)
	}
	again := c
	again.ID = 0
	added, err = f.comments.Add(ctx, &again)
	if err != nil || added || again.ID != c.ID {
		t.Fatalf("second import: added %v id %d (first %d) err %v", added, again.ID, c.ID, err)
	}
	got, err := f.comments.Get(ctx, c.ID)
	if err != nil || got.UserID != 0 || got.Source != comments.SourceWXR || !got.CreatedAt.Equal(c.CreatedAt) {
		t.Fatalf("get imported: %+v %v", got, err)
	}
	bad := comments.Comment{PostID: f.post.ID, Author: "x", Body: "x", Source: comments.SourceDisqus}
	if _, err := f.comments.Add(ctx, &bad); err == nil {
		t.Fatal("an import without its source id was stored")
	}
}

func TestBansQueueAndDuplicates(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if banned, _ := f.comments.IsBanned(ctx, f.alice); banned {
		t.Fatal("banned before any ban")
	}
	if err := f.comments.Ban(ctx, f.alice, f.bob, "spam"); err != nil {
		t.Fatal(err)
	}
	if err := f.comments.Ban(ctx, f.alice, f.bob, "again"); err != nil {
		t.Fatal(err)
	}
	if banned, _ := f.comments.IsBanned(ctx, f.alice); !banned {
		t.Fatal("not banned after Ban")
	}
	if err := f.comments.Unban(ctx, f.alice); err != nil {
		t.Fatal(err)
	}
	if banned, _ := f.comments.IsBanned(ctx, f.alice); banned {
		t.Fatal("banned after Unban")
	}

	base := time.Now().Add(-time.Hour)
	for i, st := range []comments.Status{comments.Held, comments.Approved, comments.Held, comments.Rejected} {
		f.add(t, comments.Comment{UserID: f.bob, Author: "Bob", Body: "n" + string(rune('a'+i)), Status: st,
			CreatedAt: base.Add(time.Duration(i) * time.Minute)})
	}
	held, n, err := f.comments.Queue(ctx, comments.QueueQuery{Status: comments.Held})
	if err != nil || n != 2 || held[0].Body != "na" || held[1].Body != "nc" {
		t.Fatalf("held queue: %d %v %v", n, held, err)
	}
	all, n, err := f.comments.Queue(ctx, comments.QueueQuery{Limit: 3})
	if err != nil || n != 4 || len(all) != 3 || all[0].Body != "nd" {
		t.Fatalf("whole queue: %d %v %v", n, all, err)
	}
	if ok, _ := f.comments.HasApproved(ctx, f.bob); !ok {
		t.Fatal("bob has an approved comment")
	}
	if ok, _ := f.comments.HasApproved(ctx, f.alice); ok {
		t.Fatal("alice has none")
	}
	if dup, _ := f.comments.Duplicate(ctx, f.bob, f.post.ID, "nb", base.Add(-time.Minute)); !dup {
		t.Fatal("same text not found as a duplicate")
	}
	if dup, _ := f.comments.Duplicate(ctx, f.bob, f.post.ID, "nb", base.Add(2*time.Minute)); dup {
		t.Fatal("a duplicate older than the window counted")
	}
	if dup, _ := f.comments.Duplicate(ctx, f.alice, f.post.ID, "nb", base.Add(-time.Minute)); dup {
		t.Fatal("another reader's text counted as a duplicate")
	}
}
