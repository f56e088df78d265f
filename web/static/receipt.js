// The receipt's print page: the 打印 button prints the three copies (the toolbar is hidden in print).
"use strict";
document.getElementById("print").addEventListener("click", () => window.print());
