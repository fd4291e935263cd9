//go:build mage

package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/selfhosted-go/selfhosted/pkg/run"
	"github.com/selfhosted-go/selfhosted/pkg/secrets"
)

// Secrets generates the missing secrets of .env.example into .env (mode 0600, gitignored), printing only names.
func Secrets(ctx context.Context) error {
	added, err := secrets.Fill(ctx, ".", run.Local{})
	if err != nil {
		return err
	}
	if len(added) == 0 {
		fmt.Println("secrets: .env already has every secret of .env.example")
		return nil
	}
	fmt.Printf("secrets: added %s to .env\n", strings.Join(added, ", "))
	return nil
}
