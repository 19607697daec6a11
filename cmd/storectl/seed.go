package main

import (
	"context"
	"errors"

	"github.com/store-manager/store-manager/services/config"
)

func seedCmd(ctx context.Context, cfg config.Stack) error    { return errors.New("not yet") }
func rebuildCmd(ctx context.Context, cfg config.Stack) error { return errors.New("not yet") }
