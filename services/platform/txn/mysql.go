package txn

import (
	"errors"

	"github.com/go-sql-driver/mysql"
)

// MySQL (and MariaDB) error numbers that commands turn into client errors,
// and the one a batch answers by running again.
const (
	DuplicateKey    uint16 = 1062
	RowReferenced   uint16 = 1451 // deleting a row another row points at
	RowReferenced2  uint16 = 1217
	NoReferencedRow uint16 = 1452 // inserting a row that points at a row deleted meanwhile
	OutOfRange      uint16 = 1264 // a value beyond its column's type
	CheckFailed     uint16 = 4025 // MariaDB: a CHECK constraint failed
	CheckFailedMy   uint16 = 3819 // MySQL: a CHECK constraint failed
	Deadlock        uint16 = 1213 // the transaction was rolled back to break a deadlock
)

// MySQLError reports whether err is a MySQL error with one of the numbers.
func MySQLError(err error, numbers ...uint16) bool {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return false
	}
	for _, n := range numbers {
		if me.Number == n {
			return true
		}
	}
	return false
}
