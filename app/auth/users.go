package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Roles a user has.
const (
	RoleReader = "reader"
	RoleAdmin  = "admin"
)

// User is an account: anyone who verified an address.
type User struct {
	ID          int64
	Address     string // normalized email or +phone
	Role        string // RoleReader or RoleAdmin
	DisplayName string
}

// IsAdmin reports whether the user may use the admin panel.
func (u User) IsAdmin() bool { return u.Role == RoleAdmin }

// userFor returns the user known by addr, creating a reader on first use.
func (a *Auth) userFor(ctx context.Context, addr string) (User, error) {
	if _, err := a.Data.Write.ExecContext(ctx, `INSERT INTO users (address, created_at) VALUES (?, ?)
		ON CONFLICT (address) DO NOTHING`, addr, a.now().Unix()); err != nil {
		return User{}, fmt.Errorf("auth: user %s: %w", addr, err)
	}
	return a.userWhere(ctx, a.Data.Write, "address = ?", addr)
}

// UserByID returns the user with id.
func (a *Auth) UserByID(ctx context.Context, id int64) (User, error) {
	return a.userWhere(ctx, a.Data.Read, "id = ?", id)
}

func (a *Auth) userWhere(ctx context.Context, db *sql.DB, where string, arg any) (User, error) {
	var u User
	err := db.QueryRowContext(ctx, `SELECT id, address, role, display_name FROM users WHERE `+where, arg).
		Scan(&u.ID, &u.Address, &u.Role, &u.DisplayName)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNoSession
	}
	if err != nil {
		return User{}, fmt.Errorf("auth: read user: %w", err)
	}
	return u, nil
}

// GrantAdmin makes the user known by address (created if new) an admin.
func (a *Auth) GrantAdmin(ctx context.Context, address string) (User, error) {
	addr, _, err := NormalizeAddress(address)
	if err != nil {
		return User{}, err
	}
	if _, err := a.Data.Write.ExecContext(ctx, `INSERT INTO users (address, role, created_at) VALUES (?, 'admin', ?)
		ON CONFLICT (address) DO UPDATE SET role = 'admin'`, addr, a.now().Unix()); err != nil {
		return User{}, fmt.Errorf("auth: grant admin to %s: %w", addr, err)
	}
	return a.userWhere(ctx, a.Data.Write, "address = ?", addr)
}

// Admins counts the admins; a first start with none offers a setup link.
func (a *Auth) Admins(ctx context.Context) (int, error) {
	var n int
	if err := a.Data.Read.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE role = 'admin'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("auth: count admins: %w", err)
	}
	return n, nil
}
