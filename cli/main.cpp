// Work in progress: the command tree is added with the prior study.
#include <iostream>

#include "core/version.hpp"

int main() {
  std::cout << "kernelmc " << kernelmc::kVersion << "\n";
  return 0;
}
