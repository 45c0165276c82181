/* duration_test: being written. */
#include <criterion/criterion.h>
