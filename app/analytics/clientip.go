package analytics

import (
	"fmt"
	"net/netip"
	"strings"
)

// ParseTrustedProxies reads a list of addresses and CIDR prefixes, such as
// "10.0.0.0/8" or "127.0.0.1", into prefixes.
func ParseTrustedProxies(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: not an address or CIDR prefix", s)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: not an address or CIDR prefix", s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// ClientIP is the reader's address: the TCP peer, unless the peer is a
// trusted proxy, in which case X-Forwarded-For is read from the right and
// the first address that is not a trusted proxy wins. A header from an
// untrusted peer is ignored, so a reader cannot choose the address counted.
func ClientIP(peer, forwardedFor string, trusted []netip.Prefix) netip.Addr {
	addr, err := netip.ParseAddr(peer)
	if err != nil {
		return netip.Addr{}
	}
	addr = addr.Unmap()
	if forwardedFor == "" || !IsTrusted(addr, trusted) {
		return addr
	}
	hops := strings.Split(forwardedFor, ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return addr // a garbled hop: stop at the last address we trust
		}
		hop = hop.Unmap()
		if !IsTrusted(hop, trusted) {
			return hop
		}
		addr = hop
	}
	return addr
}

// IsTrusted reports whether a is inside one of the trusted prefixes (a
// proxy whose X-Forwarded-For is believed).
func IsTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
