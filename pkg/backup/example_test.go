package backup_test

import (
	"errors"
	"fmt"

	"github.com/selfhosted-go/selfhosted/pkg/backup"
)

// The backup container's verbs are typed requests; its exit status brings
// the kind of failure back to the caller.
func ExampleRequest() {
	req := backup.Request{Verb: backup.VerbRestore, Snapshot: "4f2a91c0", Force: true}
	fmt.Println(req.Args())

	err := backup.FromExit(backup.ExitExistingState, "selfhosted-backup: the project's volumes hold data (shop_db)\n")
	fmt.Println(errors.Is(err, backup.ErrExistingState), err)
	// Output:
	// [restore --force 4f2a91c0]
	// true the project's volumes hold data (shop_db)
}

// A dump replaces the last good one only when it is complete.
func ExampleCheck() {
	head := []byte("-- MariaDB dump 10.19\n")
	fmt.Println(backup.Check(2048, head, []byte("INSERT INTO `t` VALUES (1),(2")))
	fmt.Println(backup.Check(2048, head, []byte("-- Dump completed on 2026-11-27 03:00:01\n")))
	// Output:
	// the MariaDB dump is incomplete: it does not end with "-- Dump completed"
	// <nil>
}
