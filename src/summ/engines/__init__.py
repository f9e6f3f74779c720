"""Model engines behind the Engine protocol of summ.engines.base; imported only when used."""
