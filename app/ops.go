package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"

	"site/app/web"
)

// openOps serves /healthz, /readyz (with the reasons of failing checks)
// and /metrics on ops.listen, in a process of any roles: the site's own
// listener serves no /metrics.
func (m *Main) openOps() error {
	ln, err := net.Listen("tcp", m.Config.Ops.Listen)
	if err != nil {
		return fmt.Errorf("ops: listen %s: %w", m.Config.Ops.Listen, err)
	}
	m.opsAddr = ln.Addr().String()
	m.ops = &http.Server{Handler: (&web.Ops{Checks: m.checks()}).Handler(),
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute}
	go func() {
		if err := m.ops.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error("ops: serve", "err", err)
		}
	}()
	return nil
}

// closeOps stops the ops listener, within ctx.
func (m *Main) closeOps(ctx context.Context) error {
	if m.ops == nil {
		return nil
	}
	return m.ops.Shutdown(ctx)
}

// checks are what /readyz asks about in this process.
func (m *Main) checks() []web.Check {
	var cs []web.Check
	if m.data != nil {
		cs = append(cs, web.Check{Name: "data.db", Func: m.data.Ping})
	}
	if m.ttl != nil {
		cs = append(cs, web.Check{Name: "ttl.db", Func: m.ttl.Ping})
	}
	if m.check != nil {
		cs = append(cs, web.Check{Name: "replica", Func: m.check.Err})
	}
	if m.nc != nil {
		cs = append(cs, web.Check{Name: "nats", Func: func(context.Context) error {
			if s := m.nc.Status(); s != nats.CONNECTED {
				return fmt.Errorf("connection %s", s)
			}
			return nil
		}})
	}
	if m.store != nil {
		cs = append(cs, web.Check{Name: "objects", Func: m.store.Probe})
	}
	if m.natsd != nil && m.nc == nil {
		cs = append(cs, web.Check{Name: "nats", Func: func(context.Context) error {
			nc, err := m.natsd.Connect()
			if err != nil {
				return err
			}
			nc.Close()
			return nil
		}})
	}
	return cs
}
