package web

import (
	"net/http"
	"strconv"
)

// securityTxtPath is where RFC 9116 puts the security contact file.
const securityTxtPath = "/.well-known/security.txt"

// securityTxt serves SecurityTxt as text/plain to GET and HEAD (other
// methods get the mux's 405). The route exists only when SecurityTxt is
// set (Routes), so without it a GET gets the 404 page.
func (s *Server) securityTxt(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(s.SecurityTxt)))
	h.Set("Cache-Control", "public, max-age=86400")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write([]byte(s.SecurityTxt))
}
