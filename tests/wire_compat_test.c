/* wire_compat_test: being written. */
#include <criterion/criterion.h>
