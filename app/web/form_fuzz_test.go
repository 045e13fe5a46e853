package web_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"testing"

	"site/app/web"
)

// countingReader counts the bytes read from a request body.
type countingReader struct {
	r *bytes.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// formTypes are the Content-Types the fuzzer picks from: url-encoded
// forms, others ParseForm leaves unread, and a malformed one.
var formTypes = []string{
	"application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8",
	"multipart/form-data; boundary=x", "text/plain", "", "application/x-www-form-urlencoded; a",
}

// FuzzParseForm: whatever the body, its Content-Type and the bound,
// web.ParseForm reads at most one byte past the bound; it accepts exactly
// the url-encoded bodies within the bound that url.ParseQuery reads, with
// the same values, answers 413 with the caller's sentence for a longer
// one and 400 for a malformed one, and reads no body of another type.
func FuzzParseForm(f *testing.F) {
	f.Add([]byte("address=owner%40example.org&next=%2Fadmin"), uint16(4096), uint8(0))
	f.Add([]byte("kind=post&title=Hello&body=%23+Hi%0D%0A&status=draft&action=save"), uint16(64), uint8(1))
	f.Add([]byte("a=%zz"), uint16(100), uint8(0))
	f.Add([]byte("a=1;b=2"), uint16(100), uint8(0))
	f.Add([]byte("key=x&alt=y"), uint16(3), uint8(0))
	f.Add([]byte("--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--x--\r\n"), uint16(100), uint8(2))
	f.Add([]byte("a=b"), uint16(0), uint8(5))
	const tooLarge = "Too large, says the caller."
	f.Fuzz(func(t *testing.T, body []byte, bound uint16, typ uint8) {
		max := int64(bound)
		ctype := formTypes[int(typ)%len(formTypes)]
		in := &countingReader{r: bytes.NewReader(body)}
		r := httptest.NewRequest(http.MethodPost, "/form?q=query", in)
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		w := httptest.NewRecorder()
		ok := web.ParseForm(w, r, max, tooLarge)
		if int64(in.n) > max+1 {
			t.Fatalf("read %d bytes of a form bound to %d", in.n, max)
		}
		if ctype == formTypes[5] { // the malformed type
			if ok || w.Code != http.StatusBadRequest {
				t.Fatalf("Content-Type %q: ok=%v, status %d", ctype, ok, w.Code)
			}
			return
		}
		if ctype != formTypes[0] && ctype != formTypes[1] {
			if !ok || in.n != 0 || len(r.PostForm) != 0 {
				t.Fatalf("Content-Type %q: ok=%v, read %d bytes, form %v", ctype, ok, in.n, r.PostForm)
			}
			return
		}
		want, parseErr := url.ParseQuery(string(body))
		switch {
		case int64(len(body)) > max:
			if ok || w.Code != http.StatusRequestEntityTooLarge || !bytes.Contains(w.Body.Bytes(), []byte(tooLarge)) {
				t.Fatalf("%d bytes over a bound of %d: ok=%v, %d %q", len(body), max, ok, w.Code, w.Body)
			}
		case parseErr != nil:
			if ok || w.Code != http.StatusBadRequest {
				t.Fatalf("body %q (%v): ok=%v, status %d", body, parseErr, ok, w.Code)
			}
		default:
			if !ok || w.Code != http.StatusOK || w.Body.Len() != 0 {
				t.Fatalf("body %q: ok=%v, answered %d %q", body, ok, w.Code, w.Body)
			}
			if len(want) == 0 && len(r.PostForm) == 0 {
				break
			}
			if !reflect.DeepEqual(map[string][]string(r.PostForm), map[string][]string(want)) {
				t.Fatalf("body %q: form %v, url.ParseQuery %v", body, r.PostForm, want)
			}
			if q := r.Form["q"]; len(q) == 0 || q[len(q)-1] != "query" {
				t.Fatalf("body %q: the query string is lost: %v", body, r.Form)
			}
		}
	})
}
