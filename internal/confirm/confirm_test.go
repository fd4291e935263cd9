package confirm

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfirm(t *testing.T) {
	for _, tc := range []struct {
		name     string
		asker    Asker
		accepted bool
		says     string
	}{
		{"CONFIRM=yes answers for scripts", Asker{Preset: "yes"}, true, ""},
		{"no terminal refuses", Asker{In: strings.NewReader("yes\n")}, false, "CONFIRM=yes"},
		{"typed yes", Asker{In: strings.NewReader("yes\n"), Terminal: true}, true, ""},
		{"typed y is not yes", Asker{In: strings.NewReader("y\n"), Terminal: true}, false, `"y"`},
		{"no answer", Asker{In: strings.NewReader(""), Terminal: true}, false, "no answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			tc.asker.Out = &out
			err := tc.asker.Confirm("Delete it?")
			if tc.accepted {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrDeclined)
			assert.Contains(t, err.Error(), tc.says)
		})
	}
}
