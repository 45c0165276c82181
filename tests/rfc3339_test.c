/* rfc3339_test: being written. */
#include <criterion/criterion.h>
