package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"

	storedb "github.com/store-manager/store-manager/db/store"
	"github.com/store-manager/store-manager/services/platform/errs"
	"github.com/store-manager/store-manager/services/platform/events"
	"github.com/store-manager/store-manager/services/platform/outbox"
	"github.com/store-manager/store-manager/services/platform/txn"
)

// User is a store user.
type User struct {
	ID    int64
	Name  string
	Email string
}

// CreateUser adds a user; the email must be unused.
func (s *Service) CreateUser(ctx context.Context, name, email string) (int64, error) {
	if err := checkName("name", name, MaxNameLen); err != nil {
		return 0, err
	}
	if addr, perr := mail.ParseAddress(email); perr != nil || addr.Address != email || len(email) > MaxEmailLen {
		return 0, errs.Errorf(ErrInvalid, "email is not a valid address of at most %d characters", MaxEmailLen)
	}
	var id int64
	err := s.exec(ctx, func(q Queries) ([]outbox.Event, error) {
		var err error
		id, err = q.CreateUser(ctx, storedb.CreateUserParams{Name: name, Email: email})
		if txn.MySQLError(err, txn.DuplicateKey) {
			return nil, errs.Errorf(ErrConflict, "email %s is already used", email)
		}
		if err != nil {
			return nil, fmt.Errorf("create user: %w", err)
		}
		return event(events.TopicUsers, id, events.UserCreated, events.User{ID: id, Name: name, Email: email})
	})
	return id, err
}

// User returns one user.
func (s *Service) User(ctx context.Context, id int64) (User, error) {
	u, err := s.db.Queries().GetUser(ctx, id)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, errs.Errorf(ErrNotFound, "user %d not found", id)
	}
	if err != nil {
		return User{}, fmt.Errorf("get user %d: %w", id, err)
	}
	return User{ID: u.ID, Name: u.Name, Email: u.Email}, nil
}

// DeleteUser removes a user who has no orders.
func (s *Service) DeleteUser(ctx context.Context, id int64) error {
	return s.exec(ctx, func(q Queries) ([]outbox.Event, error) {
		n, err := q.DeleteUser(ctx, id)
		if txn.MySQLError(err, txn.RowReferenced, txn.RowReferenced2) {
			return nil, errs.Errorf(ErrConflict, "user %d has orders and cannot be deleted", id)
		}
		if err != nil {
			return nil, fmt.Errorf("delete user %d: %w", id, err)
		}
		if n == 0 {
			return nil, errs.Errorf(ErrNotFound, "user %d not found", id)
		}
		return event(events.TopicUsers, id, events.UserDeleted, events.User{ID: id})
	})
}
