package targets

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestHelpRequest(t *testing.T) {
	for _, c := range []struct {
		args  []string
		names []string
		asked bool
	}{
		{[]string{"up", "--help"}, []string{"up"}, true},
		{[]string{"down-everything", "-h"}, []string{"down-everything"}, true},
		{[]string{"-h", "restore"}, []string{"restore"}, true},
		{[]string{"help", "restore"}, []string{"restore"}, true},
		{[]string{"-t", "5m", "-h", "backup"}, []string{"backup"}, true},
		{[]string{"up"}, []string{"up"}, false},
		{[]string{"-h"}, nil, false}, // Mage's own usage
		{[]string{"logs", "help"}, []string{"logs", "help"}, false},
	} {
		names, asked := helpRequest(c.args)
		assert.Equal(t, c.asked, asked, "%v", c.args)
		if asked {
			assert.Equal(t, c.names, names, "%v", c.args)
		}
	}
}

func TestPrintHelp(t *testing.T) {
	var out, errs bytes.Buffer
	assert.Equal(t, 0, printHelp(&out, &errs, []string{"restore", "ListSnapshots"}))
	assert.Contains(t, out.String(), "go tool mage restore: restore SNAPSHOT")
	assert.Contains(t, out.String(), "It deletes or replaces data")
	assert.Contains(t, out.String(), "  SNAPSHOT ")
	assert.Contains(t, out.String(), "go tool mage list-snapshots: ")

	out.Reset()
	assert.Equal(t, 2, printHelp(&out, &errs, []string{"restroe"}))
	assert.Equal(t, "\"restroe\" is none of selfhosted's targets; did you mean restore?\n", errs.String())
}
