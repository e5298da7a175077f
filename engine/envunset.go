package engine

import "fmt"

// EnvUnsetError is New's error for a ${env.NAME} the strategy file reads
// that is not set, naming the variable first and then where the file
// reads it:
//
//	engine: dex.json: environment variable DEX_CLIENT_SECRET is not set (client_secret of strategy "dex")
type EnvUnsetError struct {
	File     string // the strategy file
	Strategy string
	Step     string // "" for a strategy key or custom variable
	Field    string // the key or the step's field, dotted (form.client_secret)
	Name     string // the variable, e.g. DEX_CLIENT_SECRET
}

func (e *EnvUnsetError) Error() string {
	where := e.Field
	if e.Step != "" {
		where = fmt.Sprintf("%s in step %q", e.Field, e.Step)
	}
	return fmt.Sprintf("engine: %s: environment variable %s is not set (%s of strategy %q)", e.File, e.Name, where, e.Strategy)
}
